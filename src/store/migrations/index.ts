import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect';
import * as m0001 from './0001-customers-events-entitlements';
import * as m0002 from './0002-event-correlation';
import * as m0003 from './0003-usage-ledger';
import * as m0004 from './0004-agreement-history-and-event-keys';
import * as m0005 from './0005-metering-holds';
import * as m0006 from './0006-lookup-indexes';
import * as m0007 from './0007-held-buckets';
import * as m0008 from './0008-leases';
import * as m0009 from './0009-app-integration';
import * as m0010 from './0010-console';
import * as m0011 from './0011-agreement-requests';
import * as m0012 from './0012-distinct-id-rows';
import * as m0013 from './0013-usage-events-without-bucket-index';
import * as m0014 from './0014-renewals-awaiting-previous';

/**
 * Forward-only, numbered migrations. Never edit a released one: add the next number.
 * Each receives the dialect so engine differences stay inside the migration.
 */
export interface NumberedMigration {
  readonly name: string;
  up(db: Kysely<unknown>, dialect: DialectName): Promise<void>;
}

export const migrations: readonly NumberedMigration[] = [
  { name: '0001-customers-events-entitlements', up: m0001.up },
  { name: '0002-event-correlation', up: m0002.up },
  { name: '0003-usage-ledger', up: m0003.up },
  { name: '0004-agreement-history-and-event-keys', up: m0004.up },
  { name: '0005-metering-holds', up: m0005.up },
  { name: '0006-lookup-indexes', up: m0006.up },
  { name: '0007-held-buckets', up: m0007.up },
  { name: '0008-leases', up: m0008.up },
  { name: '0009-app-integration', up: m0009.up },
  { name: '0010-console', up: m0010.up },
  { name: '0011-agreement-requests', up: m0011.up },
  { name: '0012-distinct-id-rows', up: m0012.up },
  { name: '0013-usage-events-without-bucket-index', up: m0013.up },
  { name: '0014-renewals-awaiting-previous', up: m0014.up },
];
