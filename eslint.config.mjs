// ESLint flat config. Type-aware rules only where they catch real bugs (a promise nobody awaits,
// a promise passed where a callback's result is ignored, `any` leaking into typed code); layering
// rules live in .dependency-cruiser.cjs, formatting in Prettier (eslint-config-prettier turns the
// overlapping stylistic rules off).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Production code: everything that ships (the simulator included). */
const PRODUCTION = ['src/**/*.ts', 'routes/**/*.ts', 'handlers/**/*.ts', 'deploy/**/*.ts'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'data/', 'deploy/cdk.out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Promises: a money path that forgets an await loses writes silently.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
      // `any` must not flow into typed code unnoticed.
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'error',
    },
  },
  {
    // House rules for shipped code (design §1): configuration is read in one place, time comes
    // from the clock, and the project has one logger type.
    files: PRODUCTION,
    ignores: ['src/simulator/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration in src/config.ts and pass it in.' },
        { object: 'Date', property: 'now', message: 'Take the time from the injected Clock (src/platform/clock.ts).' },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'pino', importNames: ['Logger'], message: "Use the project's logger type from src/platform/logger.ts." }],
        },
      ],
    },
  },
  {
    // Where reading the environment or the wall clock is the job itself.
    files: ['src/config.ts', 'src/main.ts', 'src/platform/clock.ts', 'src/platform/logger.ts', 'src/store/migration-runner.ts'],
    rules: { 'no-restricted-properties': 'off', 'no-restricted-imports': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests reach into results freely; the typed assertions catch what matters there.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Synthesized CloudFormation templates and raw AWS answers are untyped JSON.
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'off',
    },
  },
  {
    // Command lines print to the terminal: that is their job (the simulator on its own, the
    // deployment kit's synthesis, the example app and snippets).
    files: ['src/simulator/standalone.ts', 'deploy/bin/**/*.ts', 'examples/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { ...globals.node }, sourceType: 'commonjs' },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  prettier,
);
