// Lint runs as part of `npm test`; type errors are caught by `tsc` in the build step.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-*/**', 'node_modules/**', 'scratch/**', 'examples/*/dist/**', 'examples/*/node_modules/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // Only the CLI and the logger talk to the console; everything else logs through Logger.
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['src/cli/**/*.ts', 'src/core/logger.ts', 'test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
