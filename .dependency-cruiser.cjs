// The architecture of design §1, as rules that fail `npm run lint`. A violation prints the rule's
// name, the importing file and the imported one. Tests and benchmarks may import anything.

/** The composition root: the only production files that wire routes, handlers and the simulator. */
const COMPOSITION_ROOT = '^src/(main|app|container)[.]ts$';

/**
 * Pure modules: rules, state machines, arithmetic. They import no I/O library and no module that
 * does I/O (repositories, gateways, consumers, the store, the AWS adapters), so they are tested
 * without a database or a network and read without one.
 */
const PURE = [
  '^src/metering/(aggregation|allocations|backoff|bucket|bucket-lifecycle|bucket-rows|hours|outcome-transitions|ports|rate-limiter|record-batching|record-plan|result-classification|usage-validation|windows)[.]ts$',
  '^src/customers/(agreement-merge|customer|subscription-state)[.]ts$',
  '^src/entitlements/access-decision[.]ts$',
  '^src/events/(agreement-facts|envelope|eventbridge-event|json-fields|marketplace-event|marketplace-message|status-transition)[.]ts$',
  '^src/platform/(clock|errors|domain-events)[.]ts$',
].join('|');

/** Libraries and Node modules that reach a disk, a socket, a database or a process. */
const IO_LIBRARIES = [
  'kysely',
  'pg',
  'pg-[a-z-]+',
  'better-sqlite3',
  '@aws-sdk/[^/]+',
  '@smithy/[^/]+',
  'express[a-z-]*',
  'helmet',
  'pino[a-z-]*',
  'sqs-consumer',
]
  .map((name) => `node_modules/${name}/`)
  .concat(['^(node:)?(fs|fs/promises|http|https|http2|net|tls|dgram|dns|child_process|cluster|worker_threads)$'])
  .join('|');

/** A package, as dependency-cruiser sees it once resolved (`node_modules/<name>/…`). */
const pkg = (pattern) => `(^|/)node_modules/(${pattern})/`;

/** Files that do I/O by name (design §1: `*.repository.ts`, `*.gateway.ts`, `*.consumer.ts`). */
const IO_MODULES = '([.](repository|gateway|consumer)[.]ts$)|^src/store/(database|migration-runner)[.]ts$|^src/store/migrations/|^src/aws/';

/** Where production code lives (the deployment kit included). */
const PRODUCTION = '^(src|routes|handlers|deploy)/';

module.exports = {
  forbidden: [
    {
      name: 'src-never-imports-routes-or-handlers',
      comment:
        'Dependencies point inward (design §1): routes/ and handlers/ import src/, never the reverse; only the composition root wires them.',
      severity: 'error',
      from: { path: '^src/', pathNot: COMPOSITION_ROOT },
      to: { path: '^(routes|handlers)/' },
    },
    {
      name: 'routes-and-handlers-stay-apart',
      comment: 'A route does not call a handler nor a handler a route: both are entry points wired by the composition root.',
      severity: 'error',
      from: { path: '^routes/' },
      to: { path: '^handlers/' },
    },
    {
      name: 'handlers-do-not-import-routes',
      comment: 'A route does not call a handler nor a handler a route: both are entry points wired by the composition root.',
      severity: 'error',
      from: { path: '^handlers/' },
      to: { path: '^routes/' },
    },
    {
      name: 'simulator-is-independent',
      comment: 'The simulator is an independent implementation of AWS: a shared rule would hide a shared bug (design §1).',
      severity: 'error',
      from: { path: '^src/simulator/' },
      to: { path: '^(src/|routes/|handlers/|deploy/)', pathNot: '^src/simulator/' },
    },
    {
      name: 'production-never-imports-the-simulator',
      comment: 'Only main.ts starts the simulator, in simulator mode (design §1).',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: ['^src/simulator/', '^src/main[.]ts$'] },
      to: { path: '^src/simulator/' },
    },
    {
      name: 'aws-sdk-only-in-src-aws',
      comment: 'src/aws/ is the only user of the AWS SDK (plus the simulator, tests and benchmarks); the core speaks its own types.',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: ['^src/aws/', '^src/simulator/'] },
      to: { path: pkg('@aws-sdk/[^/]+|@smithy/[^/]+') },
    },
    {
      name: 'production-uses-runtime-dependencies',
      comment: 'Production code must not import a package that only devDependencies install.',
      severity: 'error',
      from: { path: '^(src|routes|handlers)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'kysely-only-in-repositories-and-the-store',
      comment: 'Queries live in *.repository.ts files and src/store/ (design §1); services pass the store and its transactions around.',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: ['[.]repository[.]ts$', '^src/store/'] },
      to: { path: pkg('kysely') },
    },
    {
      name: 'cdk-only-in-deploy',
      comment: 'The deployment kit (aws-cdk-lib, constructs, cdk-nag) never reaches the service.',
      severity: 'error',
      from: { path: '^(src|routes|handlers)/' },
      to: { path: pkg('aws-cdk-lib|constructs|cdk-nag') },
    },
    {
      name: 'pure-modules-import-no-io',
      comment: 'Pure modules (named in .dependency-cruiser.cjs) import no I/O library and no I/O module.',
      severity: 'error',
      from: { path: PURE },
      to: { path: [IO_LIBRARIES, IO_MODULES] },
    },
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one; split the shared part out.',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing breaks at run time.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'production-never-imports-tests',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage|data|deploy/cdk[.]out)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
