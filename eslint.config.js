import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const NO_SQL_OUTSIDE_QUERIES = {
  selector: "CallExpression[callee.property.name=/^(prepare|exec|pragma)$/][callee.object.name=/^(db|this\\.db)$/], CallExpression[callee.property.name=/^(prepare|exec|pragma)$/][callee.object.property.name='db']",
  message: "SQL lives in the feature's queries.ts (or db/, or the job manager): one owner per table.",
};

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'build/**', 'bench/results/**', 'test-results/**', 'e2e/artifacts/**', 'reports/**', '.device/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },

  // Layering (DESIGN.md): the renderer talks to the engine only through the contract; the engine never
  // imports Electron; the contract imports zod only; the job machinery knows no feature.
  {
    files: ['src/renderer/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)(core|main|server|cli|preload)(/|$)|^electron$|^node:', message: 'The renderer talks to the engine only through the contract client (src/shared).' }] }],
    },
  },
  {
    files: ['src/core/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^electron$|(^|/)(main|renderer|server|cli|preload)(/|$)', message: 'The engine is plain Node: hosts import it, never the reverse.' }] }],
    },
  },
  {
    files: ['src/shared/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!zod$|\\./)', message: 'The contract imports zod only.' }] }] },
  },
  {
    files: ['src/shared/api/**'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!zod$|\\./|\\.\\./(?!\\.\\./))', message: 'The contract imports zod only.' }] }] },
  },
  {
    files: ['src/core/jobs/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!db/|errors$|entry$|paths$|\\.\\./shared/)',
              message: 'The job machinery imports no feature folder: a feature declares its job beside it (defineJob) and core/job-kinds.ts lists it.',
            },
          ],
        },
      ],
    },
  },
  // One owner per table: SQL only in a feature's queries.ts, db/ and the job manager (test fixtures aside).
  {
    files: ['src/core/**/*.ts'],
    ignores: ['**/queries.ts', 'src/core/db/**', 'src/core/jobs/manager.ts', '**/*.test.ts', '**/testing/**', '**/test-helpers.ts'],
    rules: { 'no-restricted-syntax': ['error', NO_SQL_OUTSIDE_QUERIES] },
  },
  // Job params and results are typed by their kind's schemas: nothing casts them.
  {
    files: ['src/core/jobs/**', 'src/cli/**', 'src/renderer/src/lib/stores/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'TSAsExpression[expression.property.name=/^(params|result)$/]', message: 'Job params and results are typed per kind (JobOf<K>, isJobOf): narrow, do not cast.' },
        { selector: 'TSAsExpression[expression.name=/^(params|result)$/]', message: 'Job params and results are typed per kind (JobOf<K>, isJobOf): narrow, do not cast.' },
      ],
    },
  },
  {
    files: ['src/core/jobs/**'],
    ignores: ['src/core/jobs/manager.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        NO_SQL_OUTSIDE_QUERIES,
        { selector: 'TSAsExpression[expression.property.name=/^(params|result)$/]', message: 'Job params and results are typed per kind (JobOf<K>, isJobOf): narrow, do not cast.' },
        { selector: 'TSAsExpression[expression.name=/^(params|result)$/]', message: 'Job params and results are typed per kind (JobOf<K>, isJobOf): narrow, do not cast.' },
      ],
    },
  },
  // No import cycles anywhere in the app (type-only imports excepted: they vanish at run time).
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // no-cycle parses each imported file itself: it needs the TypeScript parser named here.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: ['tsconfig.node.json', 'tsconfig.web.json'], noWarnOnMultipleProjects: true })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
);
