//! `creatorflow-cli`: the headless face of CreatorFlow (no webkit is linked).
fn main() {}
