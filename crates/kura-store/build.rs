//! Re-embeds the migrations when `migrations/` changes: `sqlx::migrate!` reads the folder at
//! compile time, and stable Rust cannot tell Cargo to watch a directory from a macro.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
