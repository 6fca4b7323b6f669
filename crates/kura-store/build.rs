//! Re-embeds the migrations when one of their folders changes: `sqlx::migrate!` reads the folder
//! at compile time, and stable Rust cannot tell Cargo to watch a directory from a macro.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=migrations-postgres");
    println!("cargo:rerun-if-changed=keystore");
    println!("cargo:rerun-if-changed=access");
}
