import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The reference app is written as a user writes theirs: it reaches jetsaga only through the
 * package's public entry points, so whatever it needs is exported properly (and `npm run check`
 * fails on a deep import, naming it).
 */
const publicSurfaceOnly = {
  files: ['sagas/**/*.ts', 'services/**/*.ts', 'demo/**/*.ts', 'bin/**/*.ts', 'app.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: '(^|/)runtime(/|$)',
            message:
              "the reference app imports jetsaga only through 'jetsaga', 'jetsaga/testing' or 'jetsaga/dev'; export what it needs from runtime/index.ts",
          },
          {
            regex: '^jetsaga/(?!(testing|dev|package\\.json)$)',
            message: "jetsaga's entry points are 'jetsaga', 'jetsaga/testing' and 'jetsaga/dev'",
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'test-artifacts/**', 'bench/results/**', '.jetsaga/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-empty-object-type': 'off',
    },
  },
  publicSurfaceOnly,
);
