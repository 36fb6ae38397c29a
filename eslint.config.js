import neostandard from 'neostandard'

export default [
  // src/client/openapi-types.ts is generated (npm run client:types).
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', '.tap/**', 'migrations/**', 'src/client/openapi-types.ts'] })
]
