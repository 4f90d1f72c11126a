/**
 * vitest globalSetup of the projects that need PostgreSQL (the API suite's PostgreSQL half): one
 * throwaway cluster per test run, handed to the tests as `inject('postgresBase')`; every test
 * server creates its own database on it, so test files stay isolated and run in parallel.
 */
import type { TestProject } from 'vitest/node';
import { startPostgresCluster } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresBase: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startPostgresCluster();
  project.provide('postgresBase', cluster.base);
  return () => cluster.stop();
}
