// Progress notifications for the slow parts of starting a session, and launch errors as
// notifications. Loading a large kernel's symbols happens inside the `launch` request; booting
// to the first breakpoint happens after `configurationDone`. Each shows a notification when it
// takes longer than a moment; booting can be cancelled, which pauses the machine. A failed
// launch or attach that VS Code would not show itself (no `showUser`) is shown here with the
// adapter's one message.

import * as vscode from 'vscode';

/** Nothing is shown for steps quicker than this. */
const SHOW_AFTER_MS = 700;

interface Phase {
  readonly timer: ReturnType<typeof setTimeout>;
  finish(): void;
}

/** Watches one session's DAP traffic (a DebugAdapterTracker). */
export class LaunchProgress implements vscode.DebugAdapterTracker {
  private phase: Phase | undefined;
  private breakpointsArmed = false;
  private firstStopSeen = false;
  private launchSequence = -1;

  constructor(private readonly session: vscode.DebugSession) {}

  onWillReceiveMessage(message: unknown): void {
    const request = message as { type?: string; command?: string; seq?: number; arguments?: Record<string, unknown> };
    if (request.type !== 'request') return;
    switch (request.command) {
      case 'launch': case 'attach': {
        this.launchSequence = request.seq ?? -1;
        const program = typeof request.arguments?.program === 'string' ? request.arguments.program : undefined;
        this.start(request.command === 'launch' ? `Ringside: loading ${program !== undefined ? shortName(program) : 'the kernel'} and its symbols` : 'Ringside: attaching', false);
        return;
      }
      case 'setBreakpoints': case 'setFunctionBreakpoints': case 'setInstructionBreakpoints': case 'setDataBreakpoints': {
        const list = request.arguments?.breakpoints;
        if (Array.isArray(list) && list.length > 0) this.breakpointsArmed = true;
        return;
      }
      case 'setExceptionBreakpoints': {
        const filters = request.arguments?.filters;
        const options = request.arguments?.filterOptions;
        if ((Array.isArray(filters) && filters.length > 0) || (Array.isArray(options) && options.length > 0)) this.breakpointsArmed = true;
        return;
      }
      case 'configurationDone':
        if (this.breakpointsArmed && this.session.configuration.stopOnEntry !== true && !this.firstStopSeen) {
          this.start('Ringside: booting to the first breakpoint', true);
        }
        return;
    }
  }

  onDidSendMessage(message: unknown): void {
    const sent = message as { type?: string; command?: string; event?: string; success?: boolean; request_seq?: number; message?: string; body?: { error?: { format?: string; showUser?: boolean } } };
    if (sent.type === 'response' && (sent.command === 'launch' || sent.command === 'attach') && sent.request_seq === this.launchSequence) {
      this.finish();
      if (sent.success === false && sent.body?.error?.showUser !== true) {
        void vscode.window.showErrorMessage(`Ringside: ${sent.body?.error?.format ?? sent.message ?? 'the session could not start'}`);
      }
      return;
    }
    if (sent.type === 'event' && (sent.event === 'stopped' || sent.event === 'terminated' || sent.event === 'exited')) {
      this.firstStopSeen = true;
      this.finish();
    }
  }

  onExit(): void {
    this.finish();
  }

  onError(): void {
    this.finish();
  }

  private start(title: string, cancellable: boolean): void {
    this.finish();
    let done: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      done = resolve;
    });
    const timer = setTimeout(() => {
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable }, (_progress, token) => {
        token.onCancellationRequested(() => {
          // Cancelling the boot pauses the machine where it is.
          void this.session.customRequest('ringside/vm', { action: 'pause' }).then(undefined, () => undefined);
          done();
        });
        return ended;
      });
    }, SHOW_AFTER_MS);
    this.phase = {
      timer,
      finish: () => {
        clearTimeout(timer);
        done();
      },
    };
  }

  private finish(): void {
    this.phase?.finish();
    this.phase = undefined;
  }
}

function shortName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}
