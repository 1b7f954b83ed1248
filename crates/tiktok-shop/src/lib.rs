//! Typed async client for the TikTok Shop Partner API (202309+).
