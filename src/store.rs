//! Persistence of the service's directory (accounts, licences, contact lists) in SQLite,
//! for `Service(db=…)` and `msgr serve --db`. The engine never touches it: it emits the
//! [`Write`]s to make durable, and the driver (the embedded hub inline, the TCP server
//! on a writer thread) applies them here. Passwords are stored as given: MSNP7's
//! `USR MD5` proof is MD5(salt ‖ password), which needs the password itself.

use std::path::Path;

use rusqlite::{params, Connection};

use crate::error::{Error, Result};
use crate::hresult::HResult;

use crate::service::{Account, Snapshot, Write};

pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::api(HResult::E_FAIL, format!("service database: {e}"))
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(db_error)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS accounts (
                 name TEXT PRIMARY KEY, password TEXT NOT NULL, friendly TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS licenses (app_id TEXT PRIMARY KEY, app_key TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS lists (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 owner TEXT NOT NULL, list TEXT NOT NULL, contact TEXT NOT NULL,
                 UNIQUE (owner, list, contact));
             CREATE TABLE IF NOT EXISTS settings (
                 owner TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
                 PRIMARY KEY (owner, name));",
        )
        .map_err(db_error)?;
        Ok(Store { conn })
    }

    pub fn load(&self) -> Result<Snapshot> {
        let mut snap = Snapshot::default();
        let mut q = self
            .conn
            .prepare("SELECT name, password, friendly FROM accounts ORDER BY name")
            .map_err(db_error)?;
        let rows = q
            .query_map([], |r| {
                Ok(Account {
                    sign_in_name: r.get(0)?,
                    password: r.get(1)?,
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
        let mut q = self
            .conn
            .prepare("SELECT owner, list, contact FROM lists ORDER BY seq")
            .map_err(db_error)?;
        for row in q
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(db_error)?
        {
            snap.entries.push(row.map_err(db_error)?);
        }
        let mut q = self
            .conn
            .prepare("SELECT owner, name, value FROM settings ORDER BY owner, name")
            .map_err(db_error)?;
        for row in q
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(db_error)?
        {
            snap.settings.push(row.map_err(db_error)?);
        }
        Ok(snap)
    }

    /// Makes one write durable.
    pub fn apply(&self, write: &Write) -> Result<()> {
        match write {
            Write::Account(a) => self.put_account(a),
            Write::License { app_id, key } => self.put_license(app_id, key),
            Write::Entry { owner, list, contact } => self.put_entry(owner, list, contact),
            Write::Unentry { owner, list, contact } => self.execute(
                "DELETE FROM lists WHERE owner = ?1 AND list = ?2 AND contact = ?3",
                params![owner, list, contact],
            ),
            Write::Setting { owner, name, value } => self.execute(
                "INSERT OR REPLACE INTO settings (owner, name, value) VALUES (?1, ?2, ?3)",
                params![owner, name, value],
            ),
        }
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        self.conn.execute(sql, params).map(drop).map_err(db_error)
    }

    pub fn put_account(&self, a: &Account) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO accounts (name, password, friendly) VALUES (?1, ?2, ?3)",
                params![a.sign_in_name, a.password, a.friendly_name],
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
                password: "pw".into(),
                friendly_name: "A".into(),
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
        assert_eq!(snap.accounts.len(), 1);
        assert_eq!(snap.licenses, vec![("app@x.com".to_string(), "K".to_string())]);
        assert_eq!(snap.entries, vec![("a@b.com".into(), "FL".into(), "c@d.com".into())]);
        assert_eq!(snap.settings, vec![("a@b.com".into(), "BLP".into(), "BL".into())]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_path_is_an_error_not_a_panic() {
        let err = Store::open(Path::new("/nonexistent-dir/x/y.sqlite")).unwrap_err();
        assert_eq!(err.hresult(), HResult::E_FAIL);
    }
}
