// `sqlx::migrate!("../migrations")` (db.rs) embeds the migrations at compile time; without this a
// migration added to the folder is not picked up until something else in this crate changes.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
