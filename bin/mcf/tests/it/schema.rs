//! The SQLite and PostgreSQL migrations of every service produce the same schema.

use mcf::system::{SERVICES, open_db};
use storage::schema::describe;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_do_not_drift() {
    let pg = testing::Postgres::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for service in SERVICES {
        let sqlite = open_db(
            service,
            &storage::sqlite_url(&dir.path().join(format!("{service}.sqlite"))),
        )
        .await
        .unwrap();
        let postgres = open_db(service, &pg.url(&format!("drift_{service}")))
            .await
            .unwrap();
        let (s, p) = (
            describe(&sqlite).await.unwrap(),
            describe(&postgres).await.unwrap(),
        );
        assert!(!s.is_empty(), "{service}: no tables?");
        let only_sqlite: Vec<_> = s.iter().filter(|c| !p.contains(c)).collect();
        let only_postgres: Vec<_> = p.iter().filter(|c| !s.contains(c)).collect();
        assert!(
            only_sqlite.is_empty() && only_postgres.is_empty(),
            "{service} schemas drift:\n only in SQLite: {only_sqlite:#?}\n only in PostgreSQL: {only_postgres:#?}"
        );
        // Migrating twice is a no-op.
        open_db(service, &pg.url(&format!("drift_{service}")))
            .await
            .unwrap();
    }
}
