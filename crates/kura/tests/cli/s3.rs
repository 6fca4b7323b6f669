//! A real S3-compatible server for the remote-copy tests: `moto[server]` (from PyPI) on a free
//! loopback port, with request signing checked (moto's IAM authentication): the set-up makes a
//! user with an access key allowed `s3:*` and the bucket, then every request must be signed by
//! that key.
//!
//! The Python interpreter is `KURA_TEST_PYTHON`, or the repository's `.venv-tools` (which
//! `.ci/run` creates). [`S3Server::start`] returns `None` (the test should skip) when moto is
//! not installed, unless `KURA_REQUIRE_S3` is set, in which case it panics: CI sets it so that
//! these tests can never be skipped silently.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(super) const BUCKET: &str = "kura-backups";

/// The server process, killed when dropped, and the credentials of its one user.
pub(super) struct S3Server {
    child: Child,
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    match std::env::var_os("KURA_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-tools/bin/python")),
    }
}

/// Requests moto serves before it checks signatures: the four of the set-up below.
const SETUP_REQUESTS: &str = "4";

const SETUP: &str = r#"
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="kura")
policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
iam.put_user_policy(UserName="kura", PolicyName="backups", PolicyDocument=json.dumps(policy))
key = iam.create_access_key(UserName="kura")["AccessKey"]
boto3.client("s3", **kw).create_bucket(Bucket=sys.argv[2])
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;

/// Flips one bit of an object, as a failing disk or a person with access to the bucket might.
const FLIP: &str = r#"
import boto3, sys
endpoint, key_id, secret, bucket, key, offset = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret)
body = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
body[int(offset)] ^= 1
s3.put_object(Bucket=bucket, Key=key, Body=bytes(body))
"#;

impl S3Server {
    pub(super) fn start() -> Option<S3Server> {
        let python = python();
        let available = python.is_file()
            && Command::new(&python)
                .args(["-c", "import moto.server, boto3"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if !available {
            assert!(
                std::env::var_os("KURA_REQUIRE_S3").is_none(),
                "KURA_REQUIRE_S3 is set but moto[server] is not installed for {}",
                python.display()
            );
            eprintln!("S3 test skipped: moto[server] not found (pip install it into .venv-tools)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", SETUP_REQUESTS)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let mut server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key_id: String::new(),
            secret_access_key: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(exit)) = server.child.try_wait() {
                panic!("moto exited early ({exit})");
            }
            assert!(Instant::now() < deadline, "moto did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = Command::new(&python).args(["-c", SETUP, &server.endpoint, BUCKET]).output().expect("run the set-up");
        assert!(out.status.success(), "set-up failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let mut words = text.split_whitespace();
        server.access_key_id = words.next().unwrap().to_owned();
        server.secret_access_key = words.next().unwrap().to_owned();
        Some(server)
    }

    /// Flips the bit at `offset` of the object `key`.
    pub(super) fn flip(&self, key: &str, offset: usize) {
        let out = Command::new(python())
            .args(["-c", FLIP, &self.endpoint, &self.access_key_id, &self.secret_access_key, BUCKET, key])
            .arg(offset.to_string())
            .output()
            .expect("run python");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
