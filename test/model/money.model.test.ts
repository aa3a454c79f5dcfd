import { describeDialects, postgresAvailable } from '../support/stores';
import { runMoneyModel } from './money-run';

/**
 * The model-based money test, short run (a few hundred commands per dialect). The long run is part
 * of `npm run test:reliability`. A failure prints the seed and the command path: replay with
 * `MODEL_SEED=<seed> MODEL_PATH=<path> npx jest test/model`.
 */
const runs = Number(process.env.MODEL_RUNS ?? 4);
const maxCommands = Number(process.env.MODEL_COMMANDS ?? 100);

describeDialects('money model: the simulator bills exactly what the oracle says (%s)', (dialect) => {
  it(`${runs} runs of up to ${maxCommands} commands, one instance`, async () => {
    await runMoneyModel({ dialect, instances: 1, runs, maxCommands });
  }, 170_000);
});

(postgresAvailable('money model, two instances') ? describe : describe.skip)(
  'money model: two instances on one PostgreSQL database',
  () => {
    it(`${runs} runs of up to ${maxCommands} commands, two instances racing`, async () => {
      await runMoneyModel({ dialect: 'postgres', instances: 2, runs, maxCommands });
    }, 170_000);
  },
);
