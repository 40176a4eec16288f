import { setMaxListeners } from 'node:events';

/**
 * The controller whose signal ends every wait of a client when it closes. Each waiting acquire
 * listens to it, so it allows any number of listeners (Node warns past 10 by default).
 * @internal
 */
export function createClosingController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
