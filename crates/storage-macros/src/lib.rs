//! `storage::migrations!`: a crate's migrations, found at compile time (use it through
//! `storage`, which re-exports it with the type it builds).
//!
//! Most migrations are one SQL text for SQLite and PostgreSQL, so they are written once,
//! in the folder itself; the few that must differ (a `BLOB` that is a `BYTEA`, an
//! `AUTOINCREMENT` that is a `BIGSERIAL`) sit in `sqlite/` and `postgres/` below it, as a
//! pair with one version. Whether those two folders exist is only known by looking, which a
//! `macro_rules!` macro cannot do: hence this small procedural macro. It checks the layout
//! and hands each folder to `sqlx::migrate!`, which embeds the files unchanged (so the
//! checksums of migrations already applied stay the same).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use proc_macro::TokenStream;
use quote::quote;

/// The migrations in `dir` (relative to the calling crate's `Cargo.toml`) as a
/// `storage::Migrations`: the `<version>_<name>.sql` files of `dir` for both backends,
/// plus those of `dir/sqlite` and `dir/postgres` for one backend each.
///
/// Refuses to compile when a version sits in only one of `sqlite/` and `postgres/`, or is
/// both shared and backend-specific.
/// The calling crate depends on `sqlx` and `storage`.
#[proc_macro]
pub fn migrations(input: TokenStream) -> TokenStream {
    let given = syn::parse_macro_input!(input as syn::LitStr);
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    // `sqlx::migrate!` takes a bare `migrations` for a path relative to the source file,
    // which it refuses: `./` says "beside Cargo.toml".
    let path = match given.value() {
        path if path.starts_with("./") => path,
        path => format!("./{path}"),
    };
    let folder = |sub: &str| syn::LitStr::new(&format!("{path}{sub}"), given.span());
    let dir = folder("");
    match layout(&PathBuf::from(manifest_dir).join(&path)) {
        Ok(Layout::Shared) => quote! {
            ::storage::Migrations::shared(::sqlx::migrate!(#dir))
        },
        Ok(Layout::PerBackend) => {
            let (sqlite, postgres) = (folder("/sqlite"), folder("/postgres"));
            quote! {
                ::storage::Migrations::new(
                    ::sqlx::migrate!(#dir),
                    ::sqlx::migrate!(#sqlite),
                    ::sqlx::migrate!(#postgres),
                )
            }
        }
        Err(message) => syn::Error::new(given.span(), message).to_compile_error(),
    }
    .into()
}

/// What a migrations folder holds besides its shared files.
#[derive(Debug, PartialEq)]
enum Layout {
    /// Nothing: every migration serves both backends.
    Shared,
    /// `sqlite/` and `postgres/`, with the same versions.
    PerBackend,
}

fn layout(dir: &Path) -> Result<Layout, String> {
    let shared = versions(dir)?;
    // A folder left empty (its files moved out) counts as absent.
    let own = |backend: &str| match dir.join(backend) {
        folder if folder.is_dir() => versions(&folder),
        _ => Ok(BTreeSet::new()),
    };
    let (sqlite, postgres) = (own("sqlite")?, own("postgres")?);
    if sqlite.is_empty() && postgres.is_empty() {
        return Ok(Layout::Shared);
    }
    if let Some(version) = sqlite.symmetric_difference(&postgres).next() {
        return Err(format!(
            "{}: migration {version} is in only one of `sqlite/` and `postgres/` (write it \
             for both backends with one version, or once beside them if the SQL is the same)",
            dir.display()
        ));
    }
    if let Some(version) = shared.intersection(&sqlite).next() {
        return Err(format!(
            "{}: migration {version} is both shared and backend-specific",
            dir.display()
        ));
    }
    Ok(Layout::PerBackend)
}

/// The versions of the migration files directly in `dir`, named as `sqlx::migrate!` reads
/// them (`<version>_<name>.sql`; other files and folders are not migrations).
fn versions(dir: &Path) -> Result<BTreeSet<i64>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut versions = BTreeSet::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if let Some((version, rest)) = name.split_once('_')
            && rest.ends_with(".sql")
            && path.is_file()
        {
            // sqlx::migrate! itself refuses a version that is not a number.
            if let Ok(version) = version.parse() {
                versions.insert(version);
            }
        }
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "SELECT 1;").unwrap();
        }
        dir
    }

    #[test]
    fn shared_files_alone_serve_both_backends() {
        // Given a folder of shared migrations (and a file that is not one)
        let dir = folder(&["1_a.sql", "2_b.sql", "README.md"]);
        // When its layout is read / Then it is shared
        assert_eq!(layout(dir.path()), Ok(Layout::Shared));
    }

    #[test]
    fn backend_folders_beside_shared_files_are_read_too() {
        // Given one shared migration and one that differs per backend
        let dir = folder(&["2_b.sql", "sqlite/1_a.sql", "postgres/1_a.sql"]);
        // When its layout is read / Then both backend folders count
        assert_eq!(layout(dir.path()), Ok(Layout::PerBackend));
    }

    #[test]
    fn the_layout_with_every_file_written_twice_still_works() {
        // Given no shared file, every migration in both backend folders
        let dir = folder(&[
            "sqlite/1_a.sql",
            "postgres/1_a.sql",
            "sqlite/2_b.sql",
            "postgres/2_b.sql",
        ]);
        // When its layout is read / Then it is accepted as it is
        assert_eq!(layout(dir.path()), Ok(Layout::PerBackend));
    }

    #[test]
    fn a_backend_folder_without_its_counterpart_is_refused() {
        // Given only a sqlite folder
        let dir = folder(&["1_a.sql", "sqlite/2_b.sql"]);
        // When its layout is read / Then it is refused, naming the version
        let refused = layout(dir.path()).unwrap_err();
        assert!(refused.contains("migration 2 is in only one"), "{refused}");
    }

    #[test]
    fn empty_backend_folders_count_as_absent() {
        // Given shared migrations beside a backend folder whose files moved out
        let dir = folder(&["1_a.sql", "sqlite/README.md"]);
        // When its layout is read / Then it is shared
        assert_eq!(layout(dir.path()), Ok(Layout::Shared));
    }

    #[test]
    fn a_version_written_for_one_backend_only_is_refused() {
        // Given version 2 in sqlite/ but not in postgres/
        let dir = folder(&["sqlite/1_a.sql", "postgres/1_a.sql", "sqlite/2_b.sql"]);
        // When its layout is read / Then it is refused, naming the version
        let refused = layout(dir.path()).unwrap_err();
        assert!(refused.contains("migration 2 is in only one"), "{refused}");
    }

    #[test]
    fn a_version_both_shared_and_per_backend_is_refused() {
        // Given version 1 shared and also in both backend folders
        let dir = folder(&["1_a.sql", "sqlite/1_a.sql", "postgres/1_a.sql"]);
        // When its layout is read / Then it is refused, naming the version
        let refused = layout(dir.path()).unwrap_err();
        assert!(refused.contains("migration 1 is both"), "{refused}");
    }

    #[test]
    fn a_missing_folder_is_refused() {
        // Given a folder that does not exist
        let dir = tempfile::tempdir().unwrap();
        // When its layout is read / Then it is refused
        assert!(layout(&dir.path().join("migrations")).is_err());
    }
}
