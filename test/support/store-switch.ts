import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import type { Store } from '../../src/store/database';

/**
 * A reachable-or-not switch in front of every query of a store: while down, each query fails as a
 * refused connection, as when the database server is away.
 */
export class StoreSwitch implements KyselyPlugin {
  down = false;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

/** `store` with every query going through `plugin` (its migrations and readiness do not). */
export function behind(store: Store, plugin: StoreSwitch): Store {
  return {
    db: store.db.withPlugin(plugin),
    dialect: store.dialect,
    migrate: () => store.migrate(),
    isReady: () => store.isReady(),
    refreshPlannerStatistics: () => store.refreshPlannerStatistics(),
    close: () => store.close(),
  };
}
