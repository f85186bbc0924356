//! Who is calling: roles, callers, tokens and password hashes.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use sync_core::{RecordKind, Scope};

/// What a user does, which decides the endpoints they may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Manages users, devices and forms; sees everything its scope allows.
    Admin,
    /// Backbone staff: indicators, forms, users.
    BackboneStaff,
    /// Staff of a partner organization.
    PartnerStaff,
    /// An outreach worker, on a phone.
    OutreachWorker,
    /// A parent, on their own phone.
    Parent,
    /// De-identified aggregates only: never syncs records.
    ReportsOnly,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::BackboneStaff,
        Role::PartnerStaff,
        Role::OutreachWorker,
        Role::Parent,
        Role::ReportsOnly,
    ];

    /// The role's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::BackboneStaff => "backbone_staff",
            Role::PartnerStaff => "partner_staff",
            Role::OutreachWorker => "outreach_worker",
            Role::Parent => "parent",
            Role::ReportsOnly => "reports_only",
        }
    }

    /// The role's rank in who may act for whom: a user acts only for users of a lower
    /// rank (admins also for other admins within their scope). Reports-only users
    /// rank lowest: they see aggregates, nothing else.
    pub fn rank(self) -> u8 {
        match self {
            Role::Admin => 5,
            Role::BackboneStaff => 4,
            Role::PartnerStaff => 3,
            Role::OutreachWorker => 2,
            Role::Parent => 1,
            Role::ReportsOnly => 0,
        }
    }

    /// Whether the role may read and write records through the sync feed.
    pub fn may_sync(self) -> bool {
        self != Role::ReportsOnly
    }

    /// Whether the role may create or change records of `kind` (within its scope):
    /// outreach workers enroll households and people and run surveys, parents send
    /// check-ins, partner staff also write case notes, and only admins and backbone
    /// staff publish forms.
    pub fn may_write(self, kind: RecordKind) -> bool {
        use RecordKind::{CaseNote, Checkin, Household, Person, Response};
        match self {
            Role::Admin | Role::BackboneStaff => true,
            Role::PartnerStaff => {
                matches!(kind, Household | Person | Response | Checkin | CaseNote)
            }
            Role::OutreachWorker => matches!(kind, Household | Person | Response),
            Role::Parent => kind == Checkin,
            Role::ReportsOnly => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown role `{s}`; one of {}", names.join(", "))
            })
    }
}

/// The authenticated caller of a request: a user on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's id.
    pub user_id: String,
    /// The user name.
    pub username: String,
    /// The role.
    pub role: Role,
    /// What the user may see and write; `None` (admins only) means everything.
    pub scope: Option<Scope>,
    /// The device the token belongs to.
    pub device_id: String,
}

impl Caller {
    /// Whether a record in `scope` is visible to (and writable by) the caller.
    pub fn may_see(&self, scope: &Scope) -> bool {
        match &self.scope {
            None => true,
            Some(mine) => mine.contains(scope),
        }
    }
}

impl Caller {
    /// Whether the caller may act for a user with `role` and `scope`: create them,
    /// enroll a device for them, revoke their devices.
    ///
    /// The rule (docs/security.md): the user must fall within the caller's scope (an
    /// unscoped user, which only an admin can be, only within an unscoped admin's),
    /// and rank below the caller, unless the caller is an admin: an admin acts for
    /// anyone within its scope, other admins included. So a scoped admin never makes,
    /// enrolls for or revokes an unscoped admin, and nobody below admin ever obtains
    /// a token of an equal or higher role.
    pub fn may_act_for(&self, role: Role, scope: Option<&Scope>) -> bool {
        let in_scope = match (&self.scope, scope) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => mine.contains(theirs),
        };
        in_scope && (self.role == Role::Admin || role.rank() < self.role.rank())
    }
}

/// A new bearer token: 32 random bytes as 64 hex digits.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A random password for the first admin: 24 hex digits.
pub fn new_password() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

/// A random id (32 hex digits), for the feed epoch.
pub fn new_epoch() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// What the server stores of a token: its SHA-256.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

/// Hash a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
    let argon = Argon2::default();
    let hash = with_memory(argon.params().block_count(), |blocks| {
        compute(
            &argon,
            password,
            salt.as_salt(),
            argon2::Params::DEFAULT_OUTPUT_LEN,
            blocks,
        )
    })
    .map_err(|e| e.to_string())?;
    Ok(PasswordHash {
        algorithm: argon2::Algorithm::default().ident(),
        version: Some(argon2::Version::default().into()),
        params: argon2::password_hash::ParamsString::try_from(argon.params())
            .map_err(|e| e.to_string())?,
        salt: Some(salt.as_salt()),
        hash: Some(hash),
    }
    .to_string())
}

/// Whether `password` matches the stored PHC hash. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let argon = match (
        argon2::Algorithm::try_from(parsed.algorithm),
        argon2::Params::try_from(&parsed),
    ) {
        (Ok(algorithm), Ok(params)) => {
            let version = parsed
                .version
                .map_or(Ok(argon2::Version::default()), argon2::Version::try_from);
            match version {
                Ok(version) => Argon2::new(algorithm, version, params),
                Err(_) => return false,
            }
        }
        _ => return false,
    };
    // A stored hash asking for more memory than a check may take is not ours.
    if argon.params().block_count() > MAX_BLOCKS {
        return false;
    }
    let computed = with_memory(argon.params().block_count(), |blocks| {
        compute(&argon, password, salt, expected.len(), blocks)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|c| c == expected)
}

/// The most 1 KiB blocks one password check may use (64 MiB).
const MAX_BLOCKS: usize = 64 * 1024;

/// How many work areas are kept for reuse between checks: as many as checks may run
/// at once (`password_pool`), so that steady sign-ins allocate nothing.
const KEPT_AREAS: usize = 4;

/// Run `work` with a work area of `blocks` blocks, reused from earlier checks. A
/// check's 19 MiB allocated and freed each time leaves the allocator's dynamic
/// thresholds raised and the memory kept in per-thread arenas (300 checks on as many
/// threads once held 1.3 GiB after the flood); reused areas are allocated once.
fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [argon2::Block]) -> T) -> T {
    static KEPT: std::sync::Mutex<Vec<Vec<argon2::Block>>> = std::sync::Mutex::new(Vec::new());
    let taken = {
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        let found = kept.iter().position(|area| area.len() == blocks);
        found.map(|i| kept.swap_remove(i))
    };
    let mut area = taken.unwrap_or_else(|| vec![argon2::Block::default(); blocks]);
    let out = work(&mut area);
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() < KEPT_AREAS {
        kept.push(area);
    }
    out
}

/// An argon2 output of `len` bytes for `password` and `salt`, in `blocks`: what a new
/// hash stores and what a check compares with the stored one.
fn compute(
    argon: &Argon2<'_>,
    password: &str,
    salt: argon2::password_hash::Salt<'_>,
    len: usize,
    blocks: &mut [argon2::Block],
) -> Result<argon2::password_hash::Output, argon2::password_hash::Error> {
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    argon2::password_hash::Output::init_with(len, |out| {
        argon
            .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut *blocks)
            .map_err(|_| argon2::password_hash::Error::Password)
    })
}

/// Spend the time of one password check on nothing, so that an unknown user name takes
/// as long to refuse as a wrong password.
pub fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("not a password").unwrap_or_default());
    let _ = verify_password(password, hash);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_tokens_hash() {
        let h = hash_password("secret").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("secret", &h));
        assert!(!verify_password("Secret", &h));
        assert!(!verify_password("secret", "not a hash"));
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t).len(), 32);
        assert_ne!(token_hash(&t), token_hash(&new_token()));
    }

    #[test]
    fn hashes_read_both_ways_and_work_areas_are_reused() {
        use argon2::password_hash::PasswordHasher;
        // A hash made by the argon2 crate's own hasher (as every stored hash was)
        // verifies here, and one made here verifies there.
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"secret", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("secret", &theirs));
        assert!(!verify_password("Secret", &theirs));
        let ours = hash_password("secret").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2::password_hash::PasswordVerifier::verify_password(
            &Argon2::default(),
            b"secret",
            &parsed
        )
        .is_ok());
        // Many checks in a row and at once, reusing the kept areas.
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..3 {
                        assert!(verify_password("secret", &ours));
                    }
                });
            }
        });
        // A hash asking for more memory than a check may take never matches.
        let greedy = theirs.replace("m=19456", "m=1048576");
        assert!(!verify_password("secret", &greedy));
    }

    #[test]
    fn roles_round_trip_and_scopes_contain() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
        let east = Scope::partnership("p1").with_neighborhood("east");
        let caller = Caller {
            user_id: "u".into(),
            username: "u".into(),
            role: Role::OutreachWorker,
            scope: Some(east.clone()),
            device_id: "d".into(),
        };
        assert!(caller.may_see(&east.clone().with_family("f1")));
        assert!(!caller.may_see(&Scope::partnership("p1").with_neighborhood("west")));
        assert!(!caller.may_see(&Scope::partnership("p2").with_neighborhood("east")));
        let admin = Caller {
            scope: None,
            ..caller
        };
        assert!(admin.may_see(&Scope::partnership("p2")));
        // A confidential program's records: only its own staff see them.
        let program = Scope::partnership("p1")
            .with_organization("o1")
            .with_program("counseling");
        let org_staff = Caller {
            role: Role::PartnerStaff,
            scope: Some(Scope::partnership("p1").with_organization("o1")),
            ..admin.clone()
        };
        assert!(!org_staff.may_see(&program));
        assert!(org_staff.may_see(&Scope::partnership("p1").with_organization("o1")));
        let program_staff = Caller {
            scope: Some(program.clone()),
            ..org_staff
        };
        assert!(program_staff.may_see(&program));
        assert!(admin.may_see(&program));
    }

    #[test]
    fn roles_write_the_kinds_their_work_needs() {
        use RecordKind::*;
        assert!(Role::OutreachWorker.may_write(Response));
        assert!(!Role::OutreachWorker.may_write(CaseNote));
        assert!(Role::Parent.may_write(Checkin));
        assert!(!Role::Parent.may_write(CaseNote));
        assert!(!Role::Parent.may_write(Household));
        assert!(Role::PartnerStaff.may_write(CaseNote));
        assert!(!Role::PartnerStaff.may_write(Form));
        assert!(Role::BackboneStaff.may_write(Form));
        assert!(RecordKind::ALL
            .iter()
            .all(|k| !Role::ReportsOnly.may_write(*k)));
    }
}
