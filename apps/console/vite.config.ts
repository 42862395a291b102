import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the admin API at /ui from dist/console, beside the server's own dist/apps
// (apps/admin-api/src/console/console-files.ts); the container image copies it the same way.
export default defineConfig({
  base: '/ui/',
  plugins: [react()],
  build: { outDir: '../../dist/console', emptyOutDir: true, sourcemap: false },
  logLevel: 'warn',
});
