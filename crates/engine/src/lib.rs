//! CreatorFlow's engine: everything the desktop app, the CLI and the web console share.
