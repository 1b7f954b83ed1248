// The error block every screen shows for a failed call: a title, the error's kind, its message, and
// optionally an action (e.g. Retry).
import type { ReactNode } from "react";
import type { CommandError } from "../bindings/CommandError";

export function ErrorNote({ error, title = "That did not work", children }: {
  error: CommandError | null | undefined;
  title?: ReactNode;
  children?: ReactNode;
}) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <p className="error-title">
        {title}
        <code className="error-kind">{error.kind}</code>
      </p>
      <p className="error-message">{error.message}</p>
      {children}
    </div>
  );
}
