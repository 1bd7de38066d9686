// Lint is part of `npm test`: a lint error is as red as a failing test.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // AssemblyScript sources (assembly/, examples/*/assembly/) are checked by asc, not by tsc or eslint.
  { ignores: ['dist/', 'node_modules/', 'test-output/', 'assembly/', 'examples/*/assembly/', 'bench/servers/assembly/', 'examples/*/dist/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', performance: 'readonly' } },
  },
);
