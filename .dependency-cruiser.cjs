// The layers of src/, checked by `npm run check:layers` (dependency-cruiser). From the bottom:
//
//   vocabulary  src/*.ts but index.ts, src/errors/  the public words every layer shares: errors,
//               overflow policy, the try* result types. Imports nothing else of sluice.
//   internal    src/internal/   the machinery. Imports only the vocabulary and itself, never a
//               public module, so a public module can always use it without a cycle.
//   core        src/channels/, src/operators/, src/queue/, src/index.ts   the `sluice` entry.
//               Never imports src/redis/, src/amqp/ or a broker client.
//   adapters    src/redis/, src/amqp/   the `sluice/redis` and `sluice/amqp` entries. They use
//               the core through its public entry (`import … from 'sluice'`, kept external by
//               the build, so one copy of the core classes is loaded), plus the internals that
//               are stateless or speak the registered-symbol demand protocol (listed below).
//               Known exceptions, each a pure module: src/queue/optionNames.ts (the queue
//               family's option names, shared by RedisQueue), src/queue/queueFamily.ts (the
//               defaults, checks and consume helpers both queue stores share) and src/redis/codec.ts (the
//               serializer sluice/amqp shares with sluice/redis).
//               src/otel/ (sluice/otel, over @opentelemetry/api) is an adapter too.
//
// And no cycles anywhere in src/.

/** Internals an adapter entry may bundle a copy of: stateless, or keyed by registered symbols. */
const ADAPTER_INTERNALS = [
  '^src/internal/validate\\.ts$',
  '^src/internal/reportUnhandledError\\.ts$',
  '^src/internal/deadlineTimer\\.ts$',
  '^src/internal/time/',
  '^src/internal/pullIterator\\.ts$',
  '^src/internal/demand\\.ts$',
  '^src/internal/waiting/',
  '^src/internal/sizes\\.ts$',
  '^src/internal/quietError\\.ts$',
  '^src/internal/headers\\.ts$',
  '^src/internal/queue/closing\\.ts$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes load order matter and hides which module is the lower layer.',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-circular-types',
      severity: 'warn',
      comment:
        'A cycle through type-only imports costs nothing at run time but still blurs the layers: move the shared type down.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'vocabulary-is-a-leaf',
      severity: 'error',
      comment:
        'The shared words (errors, overflow, result types) import nothing else of sluice, so every layer can use them.',
      from: { path: '^src/(?!index\\.ts$)[^/]+\\.ts$|^src/errors/' },
      to: { path: '^src/', pathNot: '^src/(?!index\\.ts$)[^/]+\\.ts$|^src/errors/' },
    },
    {
      name: 'internal-not-public',
      severity: 'error',
      comment:
        'src/internal/ is the lowest layer above the vocabulary: it never imports a public module (move a shared type to a vocabulary file instead).',
      from: { path: '^src/internal/' },
      to: { path: '^src/', pathNot: '^src/internal/|^src/(?!index\\.ts$)[^/]+\\.ts$|^src/errors/' },
    },
    {
      name: 'core-not-brokers',
      severity: 'error',
      comment:
        'The `sluice` entry never loads sluice/redis, sluice/amqp or a broker client: they are optional peers behind their own entries.',
      from: { path: '^src/', pathNot: '^src/(redis|amqp|otel)/' },
      to: {
        path: '^src/(redis|amqp|otel)/|(^|/)node_modules/(ioredis|amqplib|@types/amqplib|@opentelemetry)/',
      },
    },
    {
      name: 'adapters-through-the-entry',
      severity: 'error',
      comment:
        "sluice/redis, sluice/amqp and sluice/otel import the core as 'sluice' (one copy of its classes), and only the internals that may be copied into their bundles.",
      from: { path: '^src/(redis|amqp|otel)/' },
      to: {
        path: '^src/(?!redis/|amqp/|otel/)',
        // src/index.ts is `'sluice'` itself, resolved through tsconfig's paths
        pathNot: [
          '^src/index\\.ts$',
          ...ADAPTER_INTERNALS,
          '^src/queue/optionNames\\.ts$',
          '^src/queue/repeatingJobs\\.ts$',
          '^src/queue/queueFamily\\.ts$',
        ],
      },
    },
    {
      name: 'demand-through-one-adapter',
      severity: 'error',
      comment:
        'Each adapter entry reaches the demand protocol through one file (redis/demand.ts, amqp/demandSource.ts; the pull iterator is a consumer of it).',
      from: {
        path: '^src/(redis|amqp)/',
        pathNot: '^src/redis/demand\\.ts$|^src/amqp/demandSource\\.ts$',
      },
      to: { path: '^src/internal/demand\\.ts$' },
    },
    {
      name: 'otel-on-the-core-alone',
      severity: 'error',
      comment: 'sluice/otel uses the core only: it imports no broker entry.',
      from: { path: '^src/otel/' },
      to: { path: '^src/(redis|amqp)/' },
    },
    {
      name: 'nothing-imports-otel',
      severity: 'error',
      comment: 'Only sluice/otel loads @opentelemetry/api: no other module imports src/otel/.',
      from: { path: '^src/', pathNot: '^src/otel/' },
      to: { path: '^src/otel/' },
    },
    {
      name: 'redis-and-amqp-apart',
      severity: 'error',
      comment:
        'sluice/redis never imports sluice/amqp; sluice/amqp only shares the serializer of sluice/redis (redis/codec.ts).',
      from: { path: '^src/(redis|amqp)/' },
      // $1 is the importer's own folder: only a crossing between the two is refused
      to: { path: '^src/(redis|amqp)/', pathNot: ['^src/$1/', '^src/redis/codec\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/|node_modules/(ioredis|amqplib|@types/amqplib|rxjs|@opentelemetry/api)/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.src.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
  },
};
