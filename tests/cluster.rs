//! The managed PostgreSQL cluster: starts from the system binaries (as an
//! unprivileged user when root), serves on loopback only, stops, restarts on the
//! same data, and keeps its password out of Debug output.

mod support;

use hirebridge::store::cluster::{find_binaries, ClusterOptions, ManagedCluster};
use secrecy::ExposeSecret;
use sqlx::Connection;
use std::os::unix::fs::PermissionsExt;

fn options(dir: &std::path::Path) -> ClusterOptions {
    ClusterOptions {
        data_dir: dir.join("var"),
        port: 0,
        bin_dir: None,
        system_user: "postgres".into(),
    }
}

fn temp_dir() -> tempfile::TempDir {
    support::server_reachable_tempdir("hb-cluster-")
}

async fn select_one(url: &str) -> Result<i32, sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let one: i32 = sqlx::query_scalar("select 1").fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(one)
}

#[tokio::test]
async fn starts_serves_on_loopback_stops_and_restarts_on_the_same_data() {
    let dir = temp_dir();
    let opts = options(dir.path());
    let cluster = ManagedCluster::start(&opts).await.unwrap();
    assert!(cluster.started_by_us());
    let url = cluster.url().expose_secret().to_string();
    assert_eq!(select_one(&url).await.unwrap(), 1);

    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let listen: String = sqlx::query_scalar("show listen_addresses")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(listen, "127.0.0.1");
    let db: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(db, "hirebridge");
    conn.close().await.unwrap();

    let password_file = opts.data_dir.join("postgres.password");
    let mode = std::fs::metadata(&password_file)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let password = std::fs::read_to_string(&password_file).unwrap();
    assert!(
        !format!("{cluster:?}").contains(password.trim()),
        "password in Debug"
    );
    assert!(!url.is_empty() && url.contains(password.trim()));

    // A second start on the same directory reuses the running server and leaves it up.
    let again = ManagedCluster::start(&opts).await.unwrap();
    assert!(!again.started_by_us());
    assert_eq!(again.port(), cluster.port());
    again.stop().await.unwrap();
    assert_eq!(
        select_one(&url).await.unwrap(),
        1,
        "reuser's stop must not stop the server"
    );

    let port = cluster.port();
    cluster.stop().await.unwrap();
    assert!(!opts.data_dir.join("postgres/postmaster.pid").exists());
    assert!(
        select_one(&url).await.is_err(),
        "still serving on {port} after stop"
    );

    // Restart: same cluster, same password, no new initdb.
    let restarted = ManagedCluster::start(&opts).await.unwrap();
    let url2 = restarted.url().expose_secret().to_string();
    assert_eq!(select_one(&url2).await.unwrap(), 1);
    assert_eq!(std::fs::read_to_string(&password_file).unwrap(), password);
    restarted.stop().await.unwrap();
}

#[test]
fn missing_binaries_say_how_to_install_them_or_use_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let err = find_binaries(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("apt-get install postgresql"), "{err}");
    assert!(err.contains("database.url"), "{err}");
    assert!(
        find_binaries(None).is_ok(),
        "this machine has PostgreSQL server binaries"
    );
}

#[tokio::test]
async fn a_data_dir_the_server_user_cannot_reach_is_a_clear_error_when_root() {
    if !nix::unistd::geteuid().is_root() {
        return; // the check only applies when the server runs as another user
    }
    let dir = tempfile::Builder::new()
        .prefix("hb-closed-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let err = ManagedCluster::start(&options(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot reach") && err.contains("chmod o+x"),
        "{err}"
    );
}
