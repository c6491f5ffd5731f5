// The console traces of the help's "Enable Logging in the UI": `enable-logger` writes DEBUG
// (each HTTP answer, with its data) and INFO (each step of a panel) lines, `enable-logger-error`
// the ERROR lines. Both are off unless the server's [features] turn them on.
const on = { info: false, error: false };

export const log = {
  configure(features) {
    on.info = features?.['enable-logger'] === true;
    on.error = features?.['enable-logger-error'] === true;
  },
  info(where, what) {
    if (on.info) console.info(`INFO: ${where}->${what}`);
  },
  http(action, data) {
    if (!on.info) return;
    let text = data === undefined || data === null ? '' : JSON.stringify(data);
    if (text.length > 600) text = text.slice(0, 600) + '...';
    console.debug(`DEBUG: HTTP Request ${new Date()}\nAction: SUCCESS: ${action}\nData: ${text}`);
  },
  error(what) {
    if (on.error) console.error(`ERROR: ${what}`);
  },
};
