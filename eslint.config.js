// Lint is part of `npm test`: a lint error is as red as a failing test. TypeScript is linted
// with the type-checked rules (floating promises, unsafe any, unbound methods…), using each
// file's own tsconfig (the project's, or bench/'s).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // AssemblyScript sources (assembly/, examples/*/assembly/) are checked by asc, not by tsc or eslint.
  { ignores: ['dist/', 'node_modules/', 'test-output/', 'assembly/', 'examples/*/assembly/', 'bench/servers/assembly/', 'examples/*/dist/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // An async function without await is how a throw becomes a rejection (adapters, test services).
      '@typescript-eslint/require-await': 'off',
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', performance: 'readonly' },
    },
  },
);
