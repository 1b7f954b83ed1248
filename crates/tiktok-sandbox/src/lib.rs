//! A local TikTok Shop simulator that speaks the real wire format and enforces its rules.
