/**
 * Settings ONNX Runtime reads from the environment when it starts. Import this module on the main
 * thread before `onnxruntime-node` is loaded anywhere (session-client.ts does, before it starts a
 * session thread): ES modules run in import order, and only the main thread's `process.env` is the
 * process's environment that native code reads; a worker thread's is its own copy (ort-env.test.ts
 * runs a session through a session thread and finds no telemetry store).
 *
 * onnxruntime-node 1.30 on Linux ships Microsoft's 1DS telemetry: it sends usage events to
 * mobile.events.data.microsoft.com and writes an offline store to
 * `~/.cache/Microsoft/DeveloperTools/.onnxruntime/` plus `mat-debug-<pid>.log` and `.ses` in the
 * temporary directory. A pod with a read-only root cannot write the first, should not call out to
 * the internet, and would leave the others behind in its scratch volume, so it is off unless
 * `ORT_DISABLE_TELEMETRY` is set explicitly (`0` turns it back on). ONNX Runtime itself sends
 * nothing when a CI service's variable is set (`CI`, `GITHUB_ACTIONS`, ...), which is why only a
 * user's machine or a pod showed it.
 */
process.env['ORT_DISABLE_TELEMETRY'] ??= '1';
