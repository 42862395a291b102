import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the admin API at /ui (apps/control-plane); the output folder is not committed.
export default defineConfig({
  base: '/ui/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  logLevel: 'warn',
});
