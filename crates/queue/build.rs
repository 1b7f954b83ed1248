//! Rebuild when a migration is added or edited: `sqlx::migrate!` embeds migrations/ at compile time,
//! and without this a new file would silently be missing from the binary.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
