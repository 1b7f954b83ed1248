// Catches a screen's render error so the frame (tabs, offline banner) stays usable and the error is
// shown instead of a blank window.
import { Component, type ReactNode } from "react";

export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: Error | null; key: string }> {
  override state: { error: Error | null; key: string } = { error: null, key: this.props.resetKey };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  static getDerivedStateFromProps(props: { resetKey: string }, state: { error: Error | null; key: string }) {
    // Another screen: try again.
    return props.resetKey === state.key ? null : { error: null, key: props.resetKey };
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="error" role="alert">
        <p className="error-title">
          This screen failed to render<code className="error-kind">ui</code>
        </p>
        <p className="error-message">{String(this.state.error.stack ?? this.state.error.message)}</p>
      </div>
    );
  }
}
