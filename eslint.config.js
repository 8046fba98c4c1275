// ESLint flat config: neostandard (standard style: no semicolons, 2 spaces,
// space before function parens) for JS and TS, plus the typescript-eslint
// type-aware promise rules on the TS files, which tsconfig.json covers.
import { neostandard } from 'neostandard'
import tseslint from 'typescript-eslint'

export default [
  {
    ignores: ['node_modules/', 'coverage/', '.tap/', '.mailslot/', '.mailslot-dev/', 'scratch/', 'test/fixtures/'],
  },

  ...neostandard({ ts: true }),

  {
    name: 'mailslot/style',
    files: ['**/*.{js,ts}'],
    rules: {
      // Objects and type literals that span lines pack several short properties
      // a line on purpose (row mappers, JSON schemas, fixtures)
      '@stylistic/object-property-newline': 'off',
      // SQL is written in backticks throughout, whether or not it interpolates
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'always' }],
      // `void promise.then(...)` marks a fire-and-forget whose rejection is handled
      // (no-floating-promises asks for exactly that)
      'no-void': ['error', { allowAsStatement: true }],
      // Code lines wrap at 140; a long string, template or regex is left whole
      '@stylistic/max-len': ['error', {
        code: 140,
        ignoreUrls: true,
        ignoreStrings: true,
        ignoreTemplateLiterals: true,
        ignoreRegExpLiterals: true,
      }],
    },
  },

  {
    name: 'mailslot/ts-type-aware',
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // tap queues t.test() subtests and runs them in order: no await needed
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: '@tapjs/test', name: 'test' }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
]
