import { describeDialects, postgresAvailable } from '../support/stores';
import { runMoneyModel } from '../model/money-run';
import { FULL } from './figures';

/**
 * The long run of the model-based money test (test/model): more runs of longer command sequences,
 * on both dialects and with two instances on PostgreSQL. Replay a failure with MODEL_SEED (and
 * MODEL_PATH) as printed.
 */
const runs = Number(process.env.MODEL_RUNS ?? (FULL ? 100 : 8));
const maxCommands = Number(process.env.MODEL_COMMANDS ?? (FULL ? 300 : 100));

describeDialects('money model, long run (%s)', (dialect) => {
  it(`${runs} runs of up to ${maxCommands} commands`, async () => {
    await runMoneyModel({ dialect, instances: 1, runs, maxCommands });
  });
});

(postgresAvailable('money model, long run, two instances') ? describe : describe.skip)(
  'money model, long run, two instances on PostgreSQL',
  () => {
    it(`${runs} runs of up to ${maxCommands} commands`, async () => {
      await runMoneyModel({ dialect: 'postgres', instances: 2, runs, maxCommands });
    });
  },
);
