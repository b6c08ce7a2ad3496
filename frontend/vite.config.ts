/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig, loadEnv } from "vite";

// The dev server proxies the API and Django's sign-in pages, so the browser sees one origin:
// the session cookie and the CSRF cookie work exactly as in production.
// DJANGO_PORT (or DJANGO_URL) points it at the Django server; VITE_PORT moves the dev server.
export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, process.cwd(), ""), ...process.env };
  const django = env.DJANGO_URL || `http://127.0.0.1:${env.DJANGO_PORT || "8000"}`;
  // No changeOrigin: Django's CSRF check compares the Origin header with the Host header.
  const proxy = { target: django, changeOrigin: false };
  return {
    plugins: [react()],
    server: {
      host: "127.0.0.1",
      port: Number(env.VITE_PORT || 5173),
      strictPort: true,
      proxy: { "/api": proxy, "/accounts": proxy, "/admin": proxy, "/static": proxy },
    },
    build: { outDir: "dist", emptyOutDir: true },
    test: {
      environment: "jsdom",
      include: ["src/**/*.test.{ts,tsx}", "scripts/**/*.test.mjs"],
      setupFiles: ["src/test-setup.ts"],
      restoreMocks: true,
      // A test types and waits as a person would; on a busy two-core machine that can take seconds.
      testTimeout: 30_000,
    },
  };
});
