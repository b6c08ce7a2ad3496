// ESLint (flat config): JavaScript's and typescript-eslint's recommended rules, type-aware in
// src/, the React hooks rules and TanStack Query's. `npm run lint` fails on any warning.
import js from "@eslint/js";
import pluginQuery from "@tanstack/eslint-plugin-query";
import reactHooks from "eslint-plugin-react-hooks";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig([
  // Generated from the API's schema by `make types`; checked by `npm run types:check` instead.
  globalIgnores(["dist/", "src/api-schema.ts"]),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js", "vite.config.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    files: ["src/**/*.{ts,tsx}"],
    extends: [reactHooks.configs.flat.recommended, pluginQuery.configs["flat/recommended"]],
    languageOptions: { globals: globals.browser },
  },
  {
    // Node scripts, the browser run and Vite's config: outside the app's TypeScript project.
    files: ["**/*.{js,mjs}", "vite.config.ts"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
]);
