// What Lambda itself tells every extension through the environment: who the
// function is, and where. Lambda sets these; they are read here only.

import { envText, type Env } from './env-values.ts';

export interface FunctionEnvironment {
  readonly functionName: string | undefined;
  readonly functionVersion: string | undefined;
  readonly region: string | undefined;
  readonly memoryMb: number | undefined;
}

export function parseFunctionEnvironment(env: Env): FunctionEnvironment {
  const memory = Number(envText(env, 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE'));
  return {
    functionName: envText(env, 'AWS_LAMBDA_FUNCTION_NAME'),
    functionVersion: envText(env, 'AWS_LAMBDA_FUNCTION_VERSION'),
    region: envText(env, 'AWS_REGION') ?? envText(env, 'AWS_DEFAULT_REGION'),
    memoryMb: Number.isInteger(memory) && memory > 0 ? memory : undefined,
  };
}
