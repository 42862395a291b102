/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60000,
  // The handle that kept the test process alive (connections a closed xDS server left open,
  // see AdsServer.close) is fixed, and `npx jest --no-forceExit` exits on its own; this stays as
  // a guard so that a leak a new test introduces fails that test, not the whole CI run by a hang.
  forceExit: true,
};
