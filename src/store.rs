//! Persistence of the service's directory (accounts, licences, contact lists) in SQLite,
//! for `Service(db=…)` and `msgr serve --db`. The engine never touches it: it emits the
//! [`Write`]s to make durable, and the driver (the embedded hub inline, the TCP server
//! on a writer thread) applies them here. A password is stored as the engine keeps it
//! ([`crate::service::Secret`]): as given where MSNP7's MD5 sign-in needs it, else as an
//! Argon2id hash. The file and its WAL and SHM files are readable by their owner only.

use std::path::Path;

use rusqlite::types::FromSql;
use rusqlite::{params, Connection};

use crate::error::{Error, Result};
use crate::hresult::HResult;

use crate::service::{Account, Secret, Snapshot, Write};

pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// Creates the file readable and writable by its owner only, or makes an existing one
/// so. SQLite gives the WAL and SHM files the permissions of the database file.
#[cfg(unix)]
fn owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file_error =
        |e: std::io::Error| Error::api(HResult::E_FAIL, format!("service database {}: {e}", path.display()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(file_error)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(file_error)
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> Result<()> {
    Ok(())
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::api(HResult::E_FAIL, format!("service database: {e}"))
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        owner_only(path)?;
        let conn = Connection::open(path).map_err(db_error)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS accounts (
                 name TEXT PRIMARY KEY, password TEXT NOT NULL, friendly TEXT NOT NULL,
                 hashed INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE IF NOT EXISTS licenses (app_id TEXT PRIMARY KEY, app_key TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS lists (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 owner TEXT NOT NULL, list TEXT NOT NULL, contact TEXT NOT NULL,
                 UNIQUE (owner, list, contact));
             CREATE TABLE IF NOT EXISTS settings (
                 owner TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
                 PRIMARY KEY (owner, name));
             CREATE TABLE IF NOT EXISTS groups (
                 owner TEXT NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL,
                 PRIMARY KEY (owner, id));
             CREATE TABLE IF NOT EXISTS group_members (
                 owner TEXT NOT NULL, contact TEXT NOT NULL, id INTEGER NOT NULL,
                 PRIMARY KEY (owner, contact, id));
             CREATE TABLE IF NOT EXISTS nicknames (
                 owner TEXT NOT NULL, contact TEXT NOT NULL, name TEXT NOT NULL,
                 PRIMARY KEY (owner, contact));",
        )
        .map_err(db_error)?;
        // A file from before hashes were kept: every password in it is as given.
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('accounts')")
            .and_then(|mut q| q.query_map([], |r| r.get(0))?.collect())
            .map_err(db_error)?;
        if !columns.iter().any(|c| c == "hashed") {
            conn.execute_batch("ALTER TABLE accounts ADD COLUMN hashed INTEGER NOT NULL DEFAULT 0;")
                .map_err(db_error)?;
        }
        Ok(Store { conn })
    }

    pub fn load(&self) -> Result<Snapshot> {
        let mut snap = Snapshot::default();
        let mut q = self
            .conn
            .prepare("SELECT name, password, friendly, hashed FROM accounts ORDER BY name")
            .map_err(db_error)?;
        let rows = q
            .query_map([], |r| {
                Ok(Account {
                    sign_in_name: r.get(0)?,
                    password: if r.get::<_, i64>(3)? != 0 {
                        Secret::Hash(r.get(1)?)
                    } else {
                        Secret::Plain(r.get(1)?)
                    },
                    friendly_name: r.get(2)?,
                })
            })
            .map_err(db_error)?;
        for row in rows {
            snap.accounts.push(row.map_err(db_error)?);
        }
        let mut q = self
            .conn
            .prepare("SELECT app_id, app_key FROM licenses ORDER BY app_id")
            .map_err(db_error)?;
        for row in q.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_error)? {
            snap.licenses.push(row.map_err(db_error)?);
        }
        snap.entries = self.triples("SELECT owner, list, contact FROM lists ORDER BY seq")?;
        snap.settings = self.triples("SELECT owner, name, value FROM settings ORDER BY owner, name")?;
        snap.groups = self.triples("SELECT owner, id, name FROM groups ORDER BY owner, id")?;
        snap.members = self.triples("SELECT owner, contact, id FROM group_members ORDER BY owner, contact, id")?;
        snap.nicknames = self.triples("SELECT owner, contact, name FROM nicknames ORDER BY owner, contact")?;
        Ok(snap)
    }

    /// Every row of a three-column query.
    fn triples<A: FromSql, B: FromSql, C: FromSql>(&self, sql: &str) -> Result<Vec<(A, B, C)>> {
        let mut q = self.conn.prepare(sql).map_err(db_error)?;
        let rows = q
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(db_error)?;
        rows.map(|row| row.map_err(db_error)).collect()
    }

    /// Makes one write durable.
    pub fn apply(&self, write: &Write) -> Result<()> {
        match write {
            Write::Account(a) => self.put_account(a),
            Write::License { app_id, key } => self.put_license(app_id, key),
            Write::Entry { owner, list, contact } => self.put_entry(owner, list, contact),
            Write::Unentry { owner, list, contact } => {
                self.execute(
                    "DELETE FROM lists WHERE owner = ?1 AND list = ?2 AND contact = ?3",
                    params![owner, list, contact],
                )?;
                // Off the forward list is out of every group.
                if list != "FL" {
                    return Ok(());
                }
                self.execute(
                    "DELETE FROM group_members WHERE owner = ?1 AND contact = ?2",
                    params![owner, contact],
                )?;
                self.execute(
                    "DELETE FROM nicknames WHERE owner = ?1 AND contact = ?2",
                    params![owner, contact],
                )
            }
            Write::Nickname { owner, contact, name } => self.execute(
                "INSERT OR REPLACE INTO nicknames (owner, contact, name) VALUES (?1, ?2, ?3)",
                params![owner, contact, name],
            ),
            Write::Setting { owner, name, value } => self.execute(
                "INSERT OR REPLACE INTO settings (owner, name, value) VALUES (?1, ?2, ?3)",
                params![owner, name, value],
            ),
            Write::Group { owner, id, name } => self.execute(
                "INSERT OR REPLACE INTO groups (owner, id, name) VALUES (?1, ?2, ?3)",
                params![owner, id, name],
            ),
            Write::Ungroup { owner, id } => {
                self.execute("DELETE FROM groups WHERE owner = ?1 AND id = ?2", params![owner, id])?;
                self.execute(
                    "DELETE FROM group_members WHERE owner = ?1 AND id = ?2",
                    params![owner, id],
                )
            }
            Write::Member { owner, contact, id } => self.execute(
                "INSERT OR IGNORE INTO group_members (owner, contact, id) VALUES (?1, ?2, ?3)",
                params![owner, contact, id],
            ),
            Write::Unmember { owner, contact, id } => self.execute(
                "DELETE FROM group_members WHERE owner = ?1 AND contact = ?2 AND id = ?3",
                params![owner, contact, id],
            ),
            Write::Batch(writes) => {
                // All or nothing: a contact is not left on the list without its group.
                self.execute("SAVEPOINT batch", [])?;
                let outcome = writes.iter().try_for_each(|w| self.apply(w));
                let end = if outcome.is_ok() {
                    "RELEASE batch"
                } else {
                    "ROLLBACK TO batch"
                };
                self.execute(end, [])?;
                if outcome.is_err() {
                    self.execute("RELEASE batch", [])?;
                }
                outcome
            }
        }
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        self.conn.execute(sql, params).map(drop).map_err(db_error)
    }

    pub fn put_account(&self, a: &Account) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO accounts (name, password, friendly, hashed) VALUES (?1, ?2, ?3, ?4)",
                params![
                    a.sign_in_name,
                    a.password.stored(),
                    a.friendly_name,
                    i64::from(a.password.is_hashed())
                ],
            )
            .map(drop)
            .map_err(db_error)
    }

    pub fn put_license(&self, app_id: &str, app_key: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO licenses (app_id, app_key) VALUES (?1, ?2)",
                params![app_id, app_key],
            )
            .map(drop)
            .map_err(db_error)
    }

    pub fn put_entry(&self, owner: &str, list: &str, contact: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO lists (owner, list, contact) VALUES (?1, ?2, ?3)",
                params![owner, list, contact],
            )
            .map(drop)
            .map_err(db_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_file() {
        let dir = std::env::temp_dir().join(format!("msgr-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let s = Store::open(&path).unwrap();
            s.put_account(&Account {
                sign_in_name: "a@b.com".into(),
                password: Secret::Plain("pw".into()),
                friendly_name: "A".into(),
            })
            .unwrap();
            s.put_account(&Account {
                sign_in_name: "h@b.com".into(),
                password: Secret::new("pw", false, [1; 16]),
                friendly_name: "H".into(),
            })
            .unwrap();
            s.put_license("app@x.com", "K").unwrap();
            s.put_entry("a@b.com", "FL", "c@d.com").unwrap();
            s.put_entry("a@b.com", "FL", "c@d.com").unwrap();
            s.put_entry("a@b.com", "AL", "c@d.com").unwrap();
            let unentry = |list: &str| Write::Unentry {
                owner: "a@b.com".into(),
                list: list.into(),
                contact: "c@d.com".into(),
            };
            s.apply(&unentry("AL")).unwrap();
            s.apply(&unentry("BL")).unwrap();
            for value in ["BL", "AL", "BL"] {
                s.apply(&Write::Setting {
                    owner: "a@b.com".into(),
                    name: "BLP".into(),
                    value: value.into(),
                })
                .unwrap();
            }
        }
        let snap = Store::open(&path).unwrap().load().unwrap();
        assert_eq!(snap.accounts.len(), 2);
        assert_eq!(snap.accounts[0].password.plain(), Some("pw"));
        assert!(snap.accounts[1].password.is_hashed() && snap.accounts[1].password.verify("pw"));
        assert_eq!(snap.licenses, vec![("app@x.com".to_string(), "K".to_string())]);
        assert_eq!(snap.entries, vec![("a@b.com".into(), "FL".into(), "c@d.com".into())]);
        assert_eq!(snap.settings, vec![("a@b.com".into(), "BLP".into(), "BL".into())]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn groups_and_members_round_trip_and_a_batch_is_all_or_nothing() {
        let dir = std::env::temp_dir().join(format!("msgr-store-groups-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("g.sqlite");
        let _ = std::fs::remove_file(&path);
        let (owner, contact) = ("a@b.com".to_string(), "c@d.com".to_string());
        let group = |id: u32, name: &str| Write::Group {
            owner: owner.clone(),
            id,
            name: name.into(),
        };
        let member = |id: u32| Write::Member {
            owner: owner.clone(),
            contact: contact.clone(),
            id,
        };
        let entry = Write::Entry {
            owner: owner.clone(),
            list: "FL".into(),
            contact: contact.clone(),
        };
        {
            let s = Store::open(&path).unwrap();
            for w in [
                group(1, "Friends"),
                group(2, "Work"),
                group(1, "Best Friends"),
                group(3, "Gone"),
            ] {
                s.apply(&w).unwrap();
            }
            s.apply(&Write::Batch(vec![entry.clone(), member(1)])).unwrap();
            s.apply(&member(2)).unwrap();
            s.apply(&member(3)).unwrap();
            s.apply(&Write::Ungroup {
                owner: owner.clone(),
                id: 3,
            })
            .unwrap();
            s.apply(&Write::Unmember {
                owner: owner.clone(),
                contact: contact.clone(),
                id: 2,
            })
            .unwrap();
        }
        let snap = Store::open(&path).unwrap().load().unwrap();
        assert_eq!(
            snap.groups,
            vec![
                (owner.clone(), 1, "Best Friends".into()),
                (owner.clone(), 2, "Work".into())
            ]
        );
        assert_eq!(snap.members, vec![(owner.clone(), contact.clone(), 1)]);
        assert_eq!(snap.entries, vec![(owner.clone(), "FL".into(), contact.clone())]);
        // Off the forward list is out of every group, in the file too.
        let s = Store::open(&path).unwrap();
        s.apply(&Write::Unentry {
            owner: owner.clone(),
            list: "FL".into(),
            contact: contact.clone(),
        })
        .unwrap();
        assert!(s.load().unwrap().members.is_empty());
        // A batch whose second write fails leaves nothing of the first.
        s.execute("DROP TABLE group_members", []).unwrap();
        assert!(s.apply(&Write::Batch(vec![entry, member(1)])).is_err());
        let entries: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM lists", [], |r| r.get(0))
            .unwrap();
        assert_eq!(entries, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_file_and_its_wal_and_shm_are_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("msgr-store-perm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.sqlite");
        let _ = std::fs::remove_file(&path);
        let s = Store::open(&path).unwrap();
        s.put_license("app@x.com", "K").unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.join(format!("p.sqlite{suffix}"));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        drop(s);
        // A file made 0644 by an older version is tightened when opened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Store::open(&path).unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_from_before_hashes_is_read_as_passwords() {
        let dir = std::env::temp_dir().join(format!("msgr-store-old-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE accounts (name TEXT PRIMARY KEY, password TEXT NOT NULL, friendly TEXT NOT NULL);
                 INSERT INTO accounts VALUES ('a@b.com', 'pw', 'A');",
            )
            .unwrap();
        }
        let snap = Store::open(&path).unwrap().load().unwrap();
        assert_eq!(snap.accounts[0].password.plain(), Some("pw"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_path_is_an_error_not_a_panic() {
        let err = Store::open(Path::new("/nonexistent-dir/x/y.sqlite")).unwrap_err();
        assert_eq!(err.hresult(), HResult::E_FAIL);
    }
}
