#!/usr/bin/env node
// The `concord` command: registers tsx so that Node runs the TypeScript sources as they are.
import { register } from 'tsx/esm/api';

register();
await import('../relay/cli.ts');
