/**
 * The emitter as a separate process, for the crash test: runs passes against a file SQLite
 * database and a simulator over HTTP until nothing is due, then exits 0. The parent kills it with
 * SIGKILL at random moments and starts it again.
 */
import { createAwsClients } from '../../../src/aws/clients';
import { SdkMeteringGateway } from '../../../src/aws/metering.gateway';
import { MeteringEmitter } from '../../../src/metering/emitter';
import { systemClock } from '../../../src/platform/clock';
import { createLogger } from '../../../src/platform/logger';
import { ProductCatalog, type ProductConfig } from '../../../src/products/product-config';
import { openStore } from '../../../src/store/database';

async function main(): Promise<void> {
  const [dbPath, simUrl, productsJson] = process.argv.slice(2) as [string, string, string];
  const store = openStore({ kind: 'sqlite', path: dbPath });
  const aws = createAwsClients({ region: 'us-east-1', endpoints: { metering: simUrl }, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const logger = createLogger({ level: 'warn' });
  const emitter = new MeteringEmitter({
    db: store.db,
    dialect: 'sqlite',
    catalog: new ProductCatalog(JSON.parse(productsJson) as ProductConfig[]),
    gateway: new SdkMeteringGateway(aws.metering),
    clock: systemClock,
    logger,
    settings: { minute: 0, claimSize: 50 },
  });
  await emitter.start();
  for (;;) {
    await emitter.runOnce();
    const rows = await store.db.selectFrom('meter_buckets').select('state').where('state', 'in', ['sealed', 'sending']).execute();
    if (rows.length === 0) break;
    const due = await emitter.nextWakeAt(new Date());
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(20, due.getTime() - Date.now()))));
  }
  process.stdout.write('done\n');
  aws.destroy();
  await store.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
