//! End-to-end tests of the KX exchange API: the real `kxd` binary (`init --api`, `admin`,
//! `serve`), curl with client certificates as the client, certificates, requests and sealed
//! files made with the openssl CLI, the clock moved through `KXD_CLOCK_FILE`.

mod exchange_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use exchange_support::*;
use serde_json::json;

#[test]
fn enrolment_goes_through_the_society_queue_and_only_registered_certificates_log_in() {
    let world = World::new(|_| {});
    let kxd = &world.kxd;
    let dir = world.dir();

    // The office logs in with the certificate its society issued through the queue.
    let office = world.office_client();
    let me = office.get("/api/v1/destinations").expect(200).json();
    let nicknames: Vec<&str> = me
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| d["nickname"].as_str().expect("a nickname"))
        .collect();
    assert_eq!(nicknames, DESTINATIONS);

    // The request's poller sees the answer with the api URL and the society's certificates.
    let audit = kxd.sql("SELECT id FROM ex_certificate_requests");
    let request = audit.trim();
    let status = kxd
        .bootstrap()
        .get(&format!("/api/v1/enrolments/{request}"))
        .expect(200)
        .json();
    assert_eq!(status["state"], "issued");
    assert_eq!(status["api_url"], format!("https://127.0.0.1:{}", kxd.api));
    assert_eq!(
        status["society_certificates"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(
        status["society_ca_pem"]
            .as_str()
            .is_some_and(|p| p.starts_with("-----BEGIN CERTIFICATE-----"))
    );

    // A used enrolment code does not work twice.
    let (_, csr) = key_and_csr(dir, "again");
    let again = kxd.bootstrap().call(
        "POST",
        "/api/v1/enrolments",
        Some(&json!({
            "id": OFFICE_USER,
            "code": kxd.code(OFFICE_USER),
            "csr_pem": std::fs::read_to_string(dir.join(csr)).expect("csr"),
        })),
    );
    assert_eq!((again.status, again.code().as_str()), (401, "E0002"));

    // No client certificate: the handshake fails (curl 35 or 56, no HTTP status).
    let anonymous = kxd
        .api_client(None)
        .try_login(OFFICE_USER, &world.office_password);
    assert_eq!(anonymous.status, 0, "{anonymous:?}");
    assert!([35, 56].contains(&anonymous.exit), "{anonymous:?}");

    // A certificate of a foreign CA: the handshake fails too.
    let foreign_ca = Ca::new(dir, "foreign-ca");
    let foreign = party_identity(dir, &foreign_ca, "foreign");
    let refused = kxd
        .api_client(Some(&foreign))
        .try_login(OFFICE_USER, &world.office_password);
    assert_eq!(refused.status, 0, "{refused:?}");
    assert!([35, 56].contains(&refused.exit), "{refused:?}");

    // The right CA, but never registered through the queue: 403 E0003.
    let stray = party_identity(dir, &world.ca, "stray");
    let stray_login = kxd
        .api_client(Some(&stray))
        .try_login(OFFICE_USER, &world.office_password);
    assert_eq!(
        (stray_login.status, stray_login.code().as_str()),
        (403, "E0003")
    );

    // The session is bound to the login's source address and certificate.
    let token = office.token.clone().expect("a token");
    let elsewhere = kxd
        .api_client(Some(&world.office))
        .with_token(&token)
        .via_address("127.0.0.2")
        .get("/api/v1/inbox");
    assert_eq!(
        (
            elsewhere.status,
            elsewhere.code().as_str(),
            elsewhere.reason().as_str()
        ),
        (401, "E9998", "session_address")
    );
    let other_certificate = kxd
        .api_client(Some(&world.society))
        .with_token(&token)
        .get("/api/v1/inbox");
    assert_eq!(other_certificate.reason(), "session_certificate");
    office.get("/api/v1/inbox").expect(200);
    office.call("DELETE", "/api/v1/session", None).expect(204);
    let ended = office.get("/api/v1/inbox");
    assert_eq!(
        (ended.status, ended.reason().as_str()),
        (401, "session_expired")
    );

    // Wrong passwords: E0002, and after max_failed_logins (5) the account is locked.
    for _ in 0..5 {
        let wrong = kxd
            .api_client(Some(&world.office))
            .try_login(OFFICE_USER, "Wrong-Passw0rd");
        assert_eq!(
            (wrong.status, wrong.code().as_str(), wrong.reason().as_str()),
            (401, "E0002", "password")
        );
    }
    let locked = kxd
        .api_client(Some(&world.office))
        .try_login(OFFICE_USER, &world.office_password);
    assert_eq!(
        (
            locked.status,
            locked.code().as_str(),
            locked.reason().as_str()
        ),
        (401, "E0002", "locked")
    );
    kxd.admin(&["user", "unlock", "--id", OFFICE_USER]);
    world.office_client();

    // Through the society's certificate the office's user is unknown, right password or not,
    // and guessing does not lock it out.
    for password in ["Wrong-Passw0rd"; 6]
        .into_iter()
        .chain([world.office_password.as_str()])
    {
        let foreign = kxd
            .api_client(Some(&world.society))
            .try_login(OFFICE_USER, password);
        assert_eq!(
            (
                foreign.status,
                foreign.code().as_str(),
                foreign.reason().as_str()
            ),
            (401, "E0002", "password")
        );
    }
    world.office_client();

    // Every access is audited, with the source address; no password is in the log.
    let logins = kxd.sql(
        "SELECT outcome FROM audit_log WHERE action = 'api.login' AND actor = 'office1' ORDER BY id",
    );
    assert!(
        logins.contains("wrong-password")
            && logins.contains("locked")
            && logins.contains("not-a-user-of-this-party"),
        "{logins}"
    );
    let accesses = kxd.sql(
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'api GET /api/v1/inbox' AND source_ip IS NOT NULL",
    );
    assert!(
        accesses.trim().parse::<u32>().unwrap_or(0) >= 3,
        "{accesses}"
    );
    assert!(!kxd.log().contains(&world.office_password));
}

#[test]
fn files_go_both_ways_with_quota_cancel_delete_history_and_sent_status() {
    let world = World::new(|_| {});
    let kxd = &world.kxd;
    // Room for one ~4 KiB sealed file to the office, not two.
    office_quota(kxd, 6000);
    let dir = world.dir();
    let office = world.office_client();
    let society = world.society_client();

    // Office → society, to a destination.
    let plain = b"KPFD.CSV content: 1,2,3\n".repeat(100);
    let sealed = world.sealed_for_society("KPFD.CSV", &plain);
    let name = "Send-JG-06139999-0001-00001-202604010900000.zip";
    let unknown = office.upload("経理課", "e-application", name, &sealed);
    assert_eq!((unknown.status, unknown.code().as_str()), (400, "E8004"));
    let uploaded = office
        .upload("給付課", "e-application", name, &sealed)
        .expect(201)
        .json();
    let id = uploaded["id"].as_str().expect("an id").to_owned();
    assert_eq!(uploaded["name"], name);
    assert_eq!(
        uploaded["size"].as_u64(),
        Some(std::fs::metadata(&sealed).expect("sealed").len())
    );

    let inbox = society.get("/api/v1/inbox").expect(200).json();
    assert_eq!(inbox[0]["id"], id.as_str());
    assert_eq!(inbox[0]["from"]["number"], OFFICE);
    assert_eq!(inbox[0]["destination"], "給付課");
    assert_eq!(inbox[0]["last_received_at"], serde_json::Value::Null);
    assert_eq!(inbox[0]["expires_at"], serde_json::Value::Null);
    assert!(office.get("/api/v1/inbox").expect(200).json()[0].is_null());
    let sent = office.get("/api/v1/sent").expect(200).json();
    assert_eq!(sent[0]["first_received_at"], serde_json::Value::Null);

    // HEAD tells the size without receiving: still 未 for the sender.
    let head = society
        .call("HEAD", &format!("/api/v1/files/{id}"), None)
        .expect(200);
    let headers = String::from_utf8_lossy(&head.body).to_ascii_lowercase();
    assert!(
        headers.contains(&format!("content-length: {}", uploaded["size"])),
        "{headers}"
    );
    let sent = office.get("/api/v1/sent").expect(200).json();
    assert_eq!(sent[0]["first_received_at"], serde_json::Value::Null);

    // The office cannot download its own send; the society can, and opens it.
    let theirs = office.download(&id, &dir.join("x"));
    assert_eq!((theirs.status, theirs.code().as_str()), (404, "E8005"));
    let got = dir.join("downloaded.p7m");
    society.download(&id, &got).expect(200);
    assert_eq!(
        std::fs::read(&got).expect("downloaded"),
        std::fs::read(&sealed).expect("sealed")
    );
    assert_eq!(
        open(dir, &got, &world.society, &world.ca.identity.cert),
        plain
    );
    let sent = office.get("/api/v1/sent").expect(200).json();
    assert_eq!(sent[0]["first_received_at"], T0);

    // Downloaded again later: the recipient's receive time moves, the sender's 済 time stays
    // that of the first download.
    let later = "2026-04-01T00:10:00Z";
    kxd.set_clock(later);
    society.download(&id, &dir.join("again.p7m")).expect(200);
    let inbox = society.get("/api/v1/inbox").expect(200).json();
    assert_eq!(inbox[0]["last_received_at"], later);
    let sent = office.get("/api/v1/sent").expect(200).json();
    assert_eq!(sent[0]["first_received_at"], T0);

    // Downloaded: the sender can no longer cancel it.
    let late = office.call("DELETE", &format!("/api/v1/files/{id}"), None);
    assert_eq!(
        (late.status, late.code().as_str(), late.reason().as_str()),
        (409, "E8005", "already_downloaded")
    );
    // The recipient deletes it: gone from the inbox, into the history.
    society
        .call("DELETE", &format!("/api/v1/files/{id}"), None)
        .expect(204);
    assert!(society.get("/api/v1/inbox").expect(200).json()[0].is_null());
    let history = society.get("/api/v1/history").expect(200).json();
    assert_eq!(history[0]["id"], id.as_str());
    assert!(history[0]["deleted_at"].is_string());
    let gone = society.download(&id, &dir.join("y"));
    assert_eq!((gone.status, gone.code().as_str()), (404, "E8005"));

    // A send not yet downloaded can be cancelled; the recipient no longer sees it.
    let second = office
        .upload("業務課", "attachments", "Send-2.zip", &sealed)
        .expect(201)
        .json();
    let second = second["id"].as_str().expect("an id");
    office
        .call("DELETE", &format!("/api/v1/files/{second}"), None)
        .expect(204);
    assert!(society.get("/api/v1/inbox").expect(200).json()[0].is_null());
    let sent = office.get("/api/v1/sent").expect(200).json();
    assert_eq!(sent[0]["id"], second, "newest first");
    assert!(sent[0]["cancelled_at"].is_string(), "{sent}");
    assert!(sent[1]["cancelled_at"].is_null(), "{sent}");

    // Society → office, to an office number; the office's quota holds one, not two.
    let letter = world.sealed_for_office("notice.pdf", &[7u8; 4000]);
    let unknown = society.upload("9999", "attachments", "Send-KS-1.zip", &letter);
    assert_eq!((unknown.status, unknown.code().as_str()), (400, "E8004"));
    let first = society
        .upload(OFFICE, "attachments", "Send-KS-1.zip", &letter)
        .expect(201)
        .json();
    let full = society.upload(OFFICE, "attachments", "Send-KS-2.zip", &letter);
    assert_eq!(
        (full.status, full.code().as_str(), full.reason().as_str()),
        (507, "E8001", "quota")
    );
    let inbox = office.get("/api/v1/inbox").expect(200).json();
    assert_eq!(inbox[0]["id"], first["id"]);
    assert!(inbox[0]["expires_at"].is_string());
    let got = dir.join("letter.p7m");
    office
        .download(first["id"].as_str().expect("id"), &got)
        .expect(200);
    assert_eq!(
        open(dir, &got, &world.office, &world.ca.identity.cert),
        vec![7u8; 4000]
    );

    // Unknown ids and other parties' files look the same: 404 E8005.
    let missing = office.call("DELETE", "/api/v1/files/0123456789abcdef", None);
    assert_eq!((missing.status, missing.code().as_str()), (404, "E8005"));

    // Up to the sealed size cap (20 MiB + 1 MiB) is taken; one byte more is 413 E2006,
    // announced or found while streaming.
    // The server reads only an envelope's start, so a sealed file padded out will do.
    let cap = 21 * 1024 * 1024;
    let mut padded = std::fs::read(&sealed).expect("sealed");
    padded.resize(cap, 1);
    let largest = dir.join("largest.p7m");
    std::fs::write(&largest, &padded).expect("largest");
    let taken = office
        .upload_chunked("給付課", "attachments", "largest.zip", &largest)
        .expect(201)
        .json();
    assert_eq!(taken["size"].as_u64(), Some(cap as u64));
    let huge = dir.join("huge.p7m");
    padded.push(0);
    std::fs::write(&huge, &padded).expect("huge");
    let too_big = office.upload("給付課", "attachments", "huge.zip", &huge);
    assert_eq!((too_big.status, too_big.code().as_str()), (413, "E2006"));
    let streamed = office.upload_chunked("給付課", "attachments", "huge.zip", &huge);
    assert_eq!(
        (streamed.status, streamed.code().as_str()),
        (413, "E2006"),
        "{streamed:?}"
    );

    // Nothing is left in the temporary upload directory.
    let tmp = kxd.data().join("blobs/exchange/tmp");
    assert_eq!(std::fs::read_dir(tmp).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn an_upload_broken_off_stores_nothing_and_leaves_the_quota_alone() {
    let world = World::new(|_| {});
    let kxd = &world.kxd;
    let letter = world.sealed_for_office("notice.pdf", &[7u8; 300_000]);
    let size = std::fs::metadata(&letter).expect("sealed").len();
    // Room for exactly this file: a broken-off upload counted against the quota would make
    // the complete one after it over quota.
    office_quota(kxd, size);
    let society = world.society_client();
    let answer = society.upload_broken_off(OFFICE, "attachments", "Send-KS-1.zip", &letter);
    assert!(answer.starts_with("400 "), "{answer}");
    assert!(answer.contains("\"body_read\""), "{answer}");

    let tmp = kxd.data().join("blobs/exchange/tmp");
    assert_eq!(std::fs::read_dir(tmp).map(|d| d.count()).unwrap_or(0), 0);
    assert_eq!(kxd.sql("SELECT COUNT(*) FROM ex_files").trim(), "0");
    let office = world.office_client();
    assert!(office.get("/api/v1/inbox").expect(200).json()[0].is_null());
    let whole = society
        .upload(OFFICE, "attachments", "Send-KS-1.zip", &letter)
        .expect(201)
        .json();
    assert_eq!(whole["size"].as_u64(), Some(size));
    let full = society.upload(OFFICE, "attachments", "Send-KS-2.zip", &letter);
    assert_eq!((full.status, full.code().as_str()), (507, "E8001"));
}

#[test]
fn with_blobs_in_an_s3_bucket_files_go_through_it_and_a_broken_off_upload_is_aborted() {
    let s3 = kx_testkit::S3Server::start();
    let bucket = s3.fresh_bucket();
    let (_keys, blobs) = bucket_blobs(&s3, &bucket, "kx");
    let world = World::new(|toml| set_blobs(toml, &blobs));
    let dir = world.dir();
    let office = world.office_client();
    let society = world.society_client();

    // Larger than a part of a multipart upload and than a ranged read.
    let sealed = world.sealed_for_society("KPFD.CSV", &kx_testkit::noise(12 << 20, 1));
    let name = "Send-JG-06139999-0001-00001-202604010900000.zip";
    let id = office
        .upload("給付課", "e-application", name, &sealed)
        .expect(201)
        .json()["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let got = dir.join("downloaded.p7m");
    society.download(&id, &got).expect(200);
    assert!(
        std::fs::read(&got).expect("downloaded") == std::fs::read(&sealed).expect("sealed"),
        "the same bytes back"
    );
    let local = kx_testkit::files_under(&world.kxd.data().join("blobs"));
    assert!(local.is_empty(), "nothing in the data directory: {local:?}");
    society
        .call("DELETE", &format!("/api/v1/files/{id}"), None)
        .expect(204);

    // Cut off after more than a part: its multipart upload is aborted, nothing is stored.
    let answer = office.upload_broken_off("給付課", "e-application", name, &sealed);
    assert!(answer.starts_with("400 "), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while s3.unfinished_uploads(&bucket) > 0 {
        assert!(Instant::now() < deadline, "the upload was not aborted");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(society.get("/api/v1/inbox").expect(200).json()[0].is_null());
}

#[test]
fn three_instances_on_one_store_and_bucket_one_killed_again_and_again_list_every_upload_once_and_it_opens()
 {
    // Three kxd of one installation (on PostgreSQL in scripts/test's second pass) with their
    // blobs in one bucket, behind docs/haproxy.cfg's api frontend: plain TCP, TLS end to end,
    // so the office's certificate reaches kxd as it would directly. Instances 2 and 3 are
    // killed (SIGKILL) and restarted in turn while the office uploads, and every instance
    // collects garbage every second with a second's grace: what a 201 named must outlive
    // every collector, and what a killed instance left half done must not show.
    const UPLOADS: usize = 39;
    const CLIENTS: usize = 3;
    let s3 = kx_testkit::S3Server::start();
    let (_keys, blobs) = bucket_blobs(&s3, &s3.fresh_bucket(), "kx");
    let world = World::new(|toml| {
        set_blobs(toml, &blobs);
        for (line, with) in [
            ("retention_interval = 3600", "retention_interval = 1"),
            ("gc_grace = 3600", "gc_grace = 1"),
        ] {
            assert!(toml.contains(line), "no {line} in:\n{toml}");
            *toml = toml.replace(line, with);
        }
    });
    let installation = world.kxd.installation();
    // Started once the society is set up, so they trust its CA from the start.
    let mut others = [Some(installation.serve()), Some(installation.serve())];
    let proxy = kx_testkit::haproxy::HaProxy::start(&BTreeMap::from([(
        "api",
        std::iter::once(world.kxd.address("api"))
            .chain(others.iter().flatten().map(|s| s.address("api")))
            .map(str::to_owned)
            .collect(),
    )]));
    let port = proxy.port("api");
    // Distinct names and contents, so that what is listed tells which upload it was.
    let files: Vec<(String, Vec<u8>, PathBuf)> = (0..UPLOADS)
        .map(|i| {
            let plain = kx_testkit::noise(40_000 + 997 * i, i as u64);
            let sealed = world.sealed_for_society(&format!("chaos-{i}.csv"), &plain);
            let name = format!("Send-JG-06139999-0001-{i:05}-202604010900000.zip");
            (name, plain, sealed)
        })
        .collect();
    // Logged in before the killing starts; then every upload is a connection (a curl) of its
    // own, which HAProxy hands to the next instance.
    let offices: Vec<Client<'_>> = (0..CLIENTS).map(|_| world.office_client_on(port)).collect();

    let finished = AtomicBool::new(false);
    let kills = AtomicUsize::new(0);
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut turn = 0;
            while !finished.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1500));
                let victim = turn % others.len();
                // Killed before it is served again: down meanwhile, as after a crash.
                others[victim] = None;
                let server = installation.serve();
                proxy.set_server("api", &format!("kxd{}", victim + 2), server.address("api"));
                others[victim] = Some(server);
                kills.fetch_add(1, Ordering::SeqCst);
                turn += 1;
            }
        });
        let clients: Vec<_> = offices
            .iter()
            .enumerate()
            .map(|(client, office)| {
                let files = &files;
                scope.spawn(move || {
                    // Each on its way for about a second: a kill cuts some off mid-body.
                    (client..UPLOADS)
                        .step_by(CLIENTS)
                        .map(|i| {
                            let (name, _, sealed) = &files[i];
                            let reply =
                                office.upload_at(64 << 10, "給付課", "e-application", name, sealed);
                            (i, reply)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let done: Vec<_> = clients.into_iter().map(|c| c.join()).collect();
        finished.store(true, Ordering::SeqCst);
        let mut replies: Vec<(usize, Reply)> = done
            .into_iter()
            .flat_map(|d| d.expect("a client thread"))
            .collect();
        replies.sort_by_key(|(i, _)| *i);
        replies.into_iter().map(|(_, reply)| reply).collect()
    });
    let kills = kills.into_inner();
    assert!(kills >= 3, "only {kills} kills while the office uploaded");
    let sessions = proxy.sessions("api");
    assert!(
        sessions.len() == 3 && sessions.values().all(|&n| n >= 1),
        "every instance took uploads: {sessions:?}"
    );
    let outcomes: Vec<String> = replies
        .iter()
        .map(|r| format!("{} (curl {}) {}", r.status, r.exit, r.stderr.trim()))
        .collect();
    // A 201 read whole is acknowledged; an answer cut off by a kill may or may not have been
    // committed first; any other answer is a refusal and stored nothing.
    let acknowledged: BTreeMap<&str, String> = files
        .iter()
        .zip(&replies)
        .filter(|(_, r)| r.status == 201 && r.exit == 0)
        .map(|((name, ..), r)| {
            let id = r.json()["id"].as_str().expect("an id").to_owned();
            (name.as_str(), id)
        })
        .collect();
    assert!(
        acknowledged.len() >= UPLOADS / 2,
        "most uploads went through: {outcomes:#?}"
    );

    let society = world.society_client_on(port);
    let inbox = society.get("/api/v1/inbox").expect(200).json();
    let listed: Vec<(&str, &str)> = inbox
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("a name"),
                e["id"].as_str().expect("an id"),
            )
        })
        .collect();
    for (((name, _, _), reply), outcome) in files.iter().zip(&replies).zip(&outcomes) {
        let ids: Vec<&str> = listed
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .collect();
        match acknowledged.get(name.as_str()) {
            Some(id) => assert_eq!(ids, [id.as_str()], "{name}: {outcome}; {inbox}"),
            None if matches!(reply.status, 0 | 201) => {
                assert!(ids.len() <= 1, "{name}: {outcome}; {inbox}");
            }
            None => assert!(ids.is_empty(), "{name}: {outcome}; {inbox}"),
        }
    }
    let dir = world.dir();
    for (name, id) in &listed {
        let (_, plain, sealed) = files
            .iter()
            .find(|(n, ..)| n == name)
            .unwrap_or_else(|| panic!("{name} was never uploaded: {inbox}"));
        let got = dir.join(format!("got-{id}.p7m"));
        society.download(id, &got).expect(200);
        assert!(
            std::fs::read(&got).expect("downloaded") == std::fs::read(sealed).expect("sealed"),
            "{name}: the bytes sent"
        );
        assert!(
            open(dir, &got, &world.society, &world.ca.identity.cert) == *plain,
            "{name}: opens to what was sealed"
        );
    }
}

#[test]
fn files_to_offices_expire_after_70_days_and_every_row_is_purged_after_2_years() {
    let world = World::new(|toml| {
        // The job must not run on its own during the test; `kxd admin retention run` does.
        *toml = toml.replace("retention_interval = 3600", "retention_interval = 86400");
    });
    let kxd = &world.kxd;
    let dir = world.dir();
    let society = world.society_client();
    let letter = world.sealed_for_office("letter.pdf", b"society to office");
    let sent = society
        .upload(OFFICE, "attachments", "Send-KS-1.zip", &letter)
        .expect(201)
        .json();
    let id = sent["id"].as_str().expect("id").to_owned();
    let to_society = world.sealed_for_society("KPFD.CSV", b"office to society");
    let office = world.office_client();
    let up = office
        .upload("総務課", "e-application", "Send-JG-1.zip", &to_society)
        .expect(201)
        .json();
    let up = up["id"].as_str().expect("id").to_owned();
    let blobs = || {
        kxd.sql("SELECT COUNT(*) FROM ex_files WHERE blob IS NOT NULL")
            .trim()
            .to_owned()
    };
    assert_eq!(blobs(), "2");

    // Day 69: still there. Day 70: gone from the inbox, 410 E8005 expired.
    kxd.set_clock("2026-06-09T00:00:00Z");
    let office = world.office_client();
    assert_eq!(
        office.get("/api/v1/inbox").expect(200).json()[0]["id"],
        id.as_str()
    );
    kxd.set_clock("2026-06-10T00:00:00Z");
    let office = world.office_client();
    assert!(office.get("/api/v1/inbox").expect(200).json()[0].is_null());
    let expired = office.download(&id, &dir.join("late"));
    assert_eq!(
        (
            expired.status,
            expired.code().as_str(),
            expired.reason().as_str()
        ),
        (410, "E8005", "expired")
    );
    let report = kxd.admin(&["retention", "run"]);
    assert!(report.contains("1 expired"), "{report}");
    assert_eq!(blobs(), "1", "the office's file bytes are deleted");
    // The society's file does not expire, and the sent status stays.
    let society = world.society_client();
    assert_eq!(
        society.get("/api/v1/inbox").expect(200).json()[0]["id"],
        up.as_str()
    );
    assert_eq!(
        society.get("/api/v1/sent").expect(200).json()[0]["id"],
        id.as_str()
    );

    // Two years after sending, every row and blob is purged.
    kxd.set_clock("2028-04-01T00:00:01Z");
    let society = world.society_client();
    assert!(
        society.get("/api/v1/sent").expect(200).json()[0].is_null(),
        "due rows are hidden before the job runs"
    );
    let report = kxd.admin(&["retention", "run"]);
    assert!(report.contains("2 purged"), "{report}");
    assert_eq!(kxd.sql("SELECT COUNT(*) FROM ex_files").trim(), "0");
    let exchange_blobs = kx_testkit::files_under(&kxd.data().join("blobs/exchange"));
    assert!(exchange_blobs.is_empty(), "{exchange_blobs:?}");
}

#[test]
fn notifications_are_written_to_the_mail_outbox() {
    let world = World::new(|_| {});
    let kxd = &world.kxd;
    let office = world.office_client();
    let society = world.society_client();
    for (client, name, mail) in [
        (&office, "事業所太郎", "taro@office.example"),
        (&society, "健保花子", "hanako@kenpo.example"),
    ] {
        let user = client
            .call(
                "PUT",
                "/api/v1/profile",
                Some(&json!({"name": name, "code": "U1", "mail": mail})),
            )
            .expect(200)
            .json();
        assert_eq!(user["mail"], mail);
    }
    let half_width = office.call(
        "PUT",
        "/api/v1/profile",
        Some(&json!({"name": "taro", "code": "", "mail": "taro@office.example"})),
    );
    assert_eq!(
        (half_width.status, half_width.code().as_str()),
        (400, "E1006")
    );

    let sealed = world.sealed_for_society("KPFD.CSV", b"secret claims 12345");
    let name = "Send-JG-06139999-0001-00001-202604010900000.zip";
    let up = office
        .upload("給付課", "e-application", name, &sealed)
        .expect(201)
        .json();
    let arrived = wait_for_mail(kxd.data(), "hanako@kenpo.example");
    assert!(arrived.contains(name), "{arrived}");
    assert!(!arrived.contains("secret claims"), "{arrived}");
    society
        .download(up["id"].as_str().expect("id"), &world.dir().join("d"))
        .expect(200);
    let received = wait_for_mail(kxd.data(), "taro@office.example");
    assert!(received.contains(name), "{received}");
    // The second download notifies nobody.
    society
        .download(up["id"].as_str().expect("id"), &world.dir().join("d"))
        .expect(200);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mails(kxd.data()).len(), 2);

    // The server's log names ids and numbers, not people, addresses or file names.
    let log = kxd.log();
    for personal in [
        "taro@office.example",
        "hanako@kenpo.example",
        "事業所太郎",
        "健保花子",
        name,
    ] {
        assert!(!log.contains(personal), "the log holds {personal}");
    }
    assert!(log.contains("api: file stored"), "{log}");
}

#[test]
fn not_even_the_operator_can_read_what_was_sent() {
    let world = World::new(|_| {});
    let kxd = &world.kxd;
    let office = world.office_client();
    let society = world.society_client();
    let secrets: Vec<Vec<u8>> = (0..3)
        .map(|i| format!("被保険者 山田太郎 {i} 記号番号 9876-{i:04} 資格取得届").into_bytes())
        .collect();
    for (i, secret) in secrets.iter().enumerate() {
        let zip = world.dir().join(format!("secret{i}.zip"));
        make_zip(&world.dir().join(format!("plain{i}.txt")), secret, &zip);
        let sealed = world.sealed_for_society(&format!("s{i}"), &std::fs::read(&zip).expect("zip"));
        office
            .upload("給付課", "attachments", &format!("Send-{i}.zip"), &sealed)
            .expect(201);
        let letter = world.sealed_for_office(&format!("l{i}"), secret);
        society
            .upload(OFFICE, "attachments", &format!("Send-KS-{i}.zip"), &letter)
            .expect(201);
    }
    let mut needles: Vec<Vec<u8>> = secrets.clone();
    for i in 0..3 {
        needles.push(std::fs::read(world.dir().join(format!("secret{i}.zip"))).expect("zip"));
    }
    let files = kx_testkit::files_under(kxd.data());
    // The metadata too, where it is a file here (SQLite; PostgreSQL keeps it elsewhere).
    assert!(kx_testkit::postgres::enabled() || files.iter().any(|f| f.ends_with("kx.sqlite3")));
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for needle in &needles {
            assert!(
                !contains(&bytes, needle),
                "{} holds a plaintext",
                file.display()
            );
        }
        // Not even the distinctive name inside the ZIP.
        assert!(
            !contains(&bytes, "山田太郎".as_bytes()),
            "{}",
            file.display()
        );
    }
}

/// An SMTP relay on loopback: Debian's Python with `aiosmtpd` (python3-aiosmtpd), writing each
/// message it accepts to `DIR/n.eml`. No STARTTLS offered.
struct Relay {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Relay {
    fn start() -> Relay {
        use std::io::BufRead as _;
        let dir = tempfile::tempdir().expect("a relay directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let script = "import os, sys, time\n\
             from aiosmtpd.controller import Controller\n\
             class Handler:\n\
             \x20   async def handle_DATA(self, server, session, envelope):\n\
             \x20       n = len(os.listdir(sys.argv[2]))\n\
             \x20       open(os.path.join(sys.argv[2], '%d.eml' % n), 'wb').write(envelope.original_content)\n\
             \x20       return '250 OK'\n\
             c = Controller(Handler(), hostname='127.0.0.1', port=int(sys.argv[1]))\n\
             c.start()\n\
             print('ready', flush=True)\n\
             while True: time.sleep(1)\n";
        let mut child = kx_testkit::Python::new(script)
            .system()
            .arg(port.to_string())
            .arg(dir.path())
            .command()
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the relay starts");
        assert_eq!(line.trim(), "ready");
        Relay { child, port, dir }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn notifications_go_through_an_smtp_relay_that_must_offer_starttls_unless_plaintext_is_allowed() {
    let relay = Relay::start();
    let mut world = World::new(|_| {});
    world.kxd.restart_with(|toml| {
        *toml = toml.replace(
            "[notify]\n",
            &format!(
                "[notify]\nrelay = \"smtp://127.0.0.1:{}\"\nfrom = \"kx@kx.test\"\n",
                relay.port
            ),
        );
    });
    let society = world.society_client();
    society
        .call(
            "PUT",
            "/api/v1/profile",
            Some(&json!({"name": "健保花子", "code": "", "mail": "hanako@kenpo.example"})),
        )
        .expect(200);
    let office = world.office_client();
    let sealed = world.sealed_for_society("KPFD.CSV", b"claims");
    office
        .upload("給付課", "e-application", "Send-1.zip", &sealed)
        .expect(201);

    // The relay offers no STARTTLS: nothing is sent in clear, the mail waits in the outbox.
    let started = Instant::now();
    loop {
        let error = world
            .kxd
            .sql("SELECT last_error FROM mail_outbox WHERE sent_at IS NULL");
        if !error.trim().is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no attempt");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(mails_in(relay.dir.path()).is_empty());

    // Allowed in clear on loopback: the waiting mail goes out once its retry is due.
    world.kxd.restart_with(|toml| {
        *toml = toml.replace(
            "allow_plaintext_relay = false",
            "allow_plaintext_relay = true",
        );
    });
    world.kxd.set_clock("2026-04-01T01:00:00Z");
    let mail = wait_for_mail_in(relay.dir.path(), "hanako@kenpo.example");
    assert!(mail.contains("Send-1.zip"), "{mail}");
    assert_eq!(
        world
            .kxd
            .sql("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL")
            .trim(),
        "0"
    );
}

/// Sets the office's quota (the sealed bytes it may hold) with `kxd admin`.
fn office_quota(kxd: &Kxd, bytes: u64) {
    kxd.admin(&[
        "office",
        "quota",
        "--society",
        SOCIETY,
        "--number",
        OFFICE,
        "--bytes",
        &bytes.to_string(),
    ]);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A ZIP holding `content` as one file, made with Python's zipfile (stored, so the plaintext
/// appears in the ZIP as it is).
fn make_zip(plain: &Path, content: &[u8], zip: &Path) {
    std::fs::write(plain, content).expect("plain");
    kx_testkit::Python::new(
        "import zipfile,sys; zipfile.ZipFile(sys.argv[2],'w').write(sys.argv[1],'doc.txt')",
    )
    .arg(plain)
    .arg(zip)
    .run();
}

/// The mails in `DIR/mail-outbox`, decoded.
fn mails(data: &Path) -> Vec<String> {
    mails_in(&data.join("mail-outbox"))
}

/// The `.eml` files in `dir`, decoded by Python's `email` package: `To:`, `Subject:` and the
/// text body.
fn mails_in(dir: &Path) -> Vec<String> {
    let script = "import email, email.policy, sys\n\
         m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n\
         print('To: ' + m['To']); print('Subject: ' + m['Subject']); print(m.get_content())\n";
    kx_testkit::files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| kx_testkit::Python::new(script).arg(p).run())
        .collect()
}

/// Waits for a mail to `to` in `DIR/mail-outbox` and returns it.
fn wait_for_mail(data: &Path, to: &str) -> String {
    wait_for_mail_in(&data.join("mail-outbox"), to)
}

/// Waits for a mail to `to` in `dir` and returns it.
fn wait_for_mail_in(dir: &Path, to: &str) -> String {
    let started = Instant::now();
    loop {
        if let Some(mail) = mails_in(dir)
            .into_iter()
            .find(|m| m.contains(&format!("To: {to}")))
        {
            return mail;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no mail to {to}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn renewals_go_through_the_queue_and_retire_the_old_certificate() {
    let world = World::new(|_| {});
    let kxd = &world.kxd;
    let dir = world.dir();
    let office = world.office_client();
    let society = world.society_client();

    let mine = office.get("/api/v1/certificates").expect(200).json();
    assert!(
        mine["society_ca_pem"]
            .as_str()
            .is_some_and(|p| p.contains("BEGIN CERTIFICATE"))
    );
    assert_eq!(mine["society"].as_array().map(Vec::len), Some(1));
    assert_eq!(mine["own"]["current"], true);
    let offices = society.get("/api/v1/offices").expect(200).json();
    assert_eq!(offices[0]["number"], OFFICE);
    assert_eq!(offices[0]["certificates"].as_array().map(Vec::len), Some(1));
    // Each side's routes refuse the other side.
    let wrong_side = office.get("/api/v1/offices");
    assert_eq!(
        (
            wrong_side.status,
            wrong_side.code().as_str(),
            wrong_side.reason().as_str()
        ),
        (403, "E0003", "societies_only")
    );

    // The office asks for a renewal with a new key; the society answers with a certificate
    // for another key first (refused), then the right one.
    let (new_key, csr) = key_and_csr(dir, "renewed");
    let ticket = office
        .call(
            "POST",
            "/api/v1/certificate-requests",
            Some(&json!({"csr_pem": std::fs::read_to_string(dir.join(&csr)).expect("csr")})),
        )
        .expect(202)
        .json();
    let request = ticket["request"].as_str().expect("request").to_owned();
    let pending = society
        .get("/api/v1/society/certificate-requests")
        .expect(200)
        .json();
    assert_eq!(pending[0]["kind"], "renew");
    assert_eq!(pending[0]["office_number"], OFFICE);
    assert_eq!(pending[0]["user_id"], OFFICE_USER);
    let (_, other_csr) = key_and_csr(dir, "other");
    let other = world.ca.sign(dir, &other_csr, "other", 1000);
    let decide = format!("/api/v1/society/certificate-requests/{request}");
    let mismatch = society.call(
        "POST",
        &decide,
        Some(&json!({"certificate_pem": std::fs::read_to_string(&other).expect("pem")})),
    );
    assert_eq!(
        (mismatch.status, mismatch.reason().as_str()),
        (400, "key_mismatch")
    );
    let foreign_ca = Ca::new(dir, "foreign-ca");
    let foreign = foreign_ca.sign(dir, &csr, "foreign-renewed", 1000);
    let foreign = society.call(
        "POST",
        &decide,
        Some(&json!({"certificate_pem": std::fs::read_to_string(&foreign).expect("pem")})),
    );
    assert_eq!(
        (foreign.status, foreign.reason().as_str()),
        (400, "not_valid_for_society_ca")
    );
    let renewed = world.ca.sign(dir, &csr, "renewed", 1000);
    society
        .call(
            "POST",
            &decide,
            Some(&json!({"certificate_pem": std::fs::read_to_string(&renewed).expect("pem")})),
        )
        .expect(204);
    let again = society.call("POST", &decide, Some(&json!({"refused": "twice"})));
    assert_eq!(
        (again.status, again.reason().as_str()),
        (404, "no_such_request")
    );
    let status = kxd
        .bootstrap()
        .get(&format!("/api/v1/enrolments/{request}"))
        .expect(200)
        .json();
    assert_eq!(status["state"], "issued");

    // The old certificate no longer logs in; the new one does.
    let old = kxd
        .api_client(Some(&world.office))
        .try_login(OFFICE_USER, &world.office_password);
    assert_eq!(
        (old.status, old.code().as_str(), old.reason().as_str()),
        (403, "E0003", "certificate_not_registered")
    );
    let fresh = Identity {
        cert: renewed,
        key: new_key,
    };
    kxd.api_client(Some(&fresh))
        .login(OFFICE_USER, &world.office_password)
        .get("/api/v1/inbox")
        .expect(200);

    // A refused request says why.
    let (_, refused_csr) = key_and_csr(dir, "refused");
    let fresh_office = kxd
        .api_client(Some(&fresh))
        .login(OFFICE_USER, &world.office_password);
    let ticket = fresh_office
        .call(
            "POST",
            "/api/v1/certificate-requests",
            Some(
                &json!({"csr_pem": std::fs::read_to_string(dir.join(&refused_csr)).expect("csr")}),
            ),
        )
        .expect(202)
        .json();
    let refused = ticket["request"].as_str().expect("request");
    society
        .call(
            "POST",
            &format!("/api/v1/society/certificate-requests/{refused}"),
            Some(&json!({"refused": "not requested by the office"})),
        )
        .expect(204);
    let status = kxd
        .bootstrap()
        .get(&format!("/api/v1/enrolments/{refused}"))
        .expect(200)
        .json();
    assert_eq!(status["state"], "refused");
    assert_eq!(status["refused"], "not requested by the office");

    // The society publishes a renewed certificate of its own: listed, the old one not
    // current, and only the new one logs in.
    let (society_key, society_csr) = key_and_csr(dir, "society2");
    let society2 = world.ca.sign(dir, &society_csr, "society2", 1000);
    society
        .call(
            "POST",
            "/api/v1/certificates",
            Some(&json!({"certificate_pem": std::fs::read_to_string(&society2).expect("pem")})),
        )
        .expect(204);
    let listed = fresh_office.get("/api/v1/certificates").expect(200).json();
    let current: Vec<bool> = listed["society"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["current"].as_bool().expect("a flag"))
        .collect();
    assert_eq!(current, [true, false]);
    let society2 = Identity {
        cert: society2,
        key: society_key,
    };
    kxd.api_client(Some(&society2))
        .login(SOCIETY_USER, &world.society_password)
        .get("/api/v1/inbox")
        .expect(200);
}

#[test]
fn certificate_requests_the_society_leaves_undecided_expire() {
    let world = World::new(|toml| {
        assert!(toml.contains("certificate_request_days = 14"), "{toml}");
        *toml = toml
            .replace(
                "certificate_request_days = 14",
                "certificate_request_days = 3",
            )
            // The job must not run on its own during the test; `kxd admin retention run` does.
            .replace("retention_interval = 3600", "retention_interval = 86400");
    });
    let kxd = &world.kxd;
    let dir = world.dir();

    // A renewal and, with a fresh one-time code, a new enrolment (a reinstalled app).
    let queued = |reply: Reply| -> String {
        let ticket = reply.expect(202).json();
        ticket["request"].as_str().expect("request").to_owned()
    };
    let csr_pem = |name| {
        let (_, csr) = key_and_csr(dir, name);
        std::fs::read_to_string(dir.join(csr)).expect("csr")
    };
    let renewal = queued(world.office_client().call(
        "POST",
        "/api/v1/certificate-requests",
        Some(&json!({"csr_pem": csr_pem("renewal")})),
    ));
    let out = kxd.admin(&["user", "enrolment-code", "--id", OFFICE_USER]);
    let code = out
        .split_whitespace()
        .skip_while(|w| *w != "code")
        .nth(1)
        .expect("a code");
    let enrolment = queued(kxd.bootstrap().call(
        "POST",
        "/api/v1/enrolments",
        Some(&json!({"id": OFFICE_USER, "code": code, "csr_pem": csr_pem("reinstalled")})),
    ));
    let pending = |at: &str| {
        kxd.set_clock(at);
        let listed = world
            .society_client()
            .get("/api/v1/society/certificate-requests")
            .expect(200)
            .json();
        let mut ids: Vec<String> = listed
            .as_array()
            .expect("a list")
            .iter()
            .map(|r| r["request"].as_str().expect("an id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    let status = |request: &str| {
        kxd.bootstrap()
            .get(&format!("/api/v1/enrolments/{request}"))
            .expect(200)
            .json()
    };

    // Waiting until `certificate_request_days` (3) have passed…
    let mut both = [renewal.clone(), enrolment.clone()];
    both.sort();
    assert_eq!(pending("2026-04-03T23:59:59Z"), both);
    assert_eq!(status(&enrolment)["state"], "pending");

    // …then gone from the society's list, too late to decide, and refused to the app with
    // what to do, before the retention job has run as after.
    assert!(pending("2026-04-04T00:00:00Z").is_empty());
    let late = world.society_client().call(
        "POST",
        &format!("/api/v1/society/certificate-requests/{renewal}"),
        Some(&json!({"refused": "too late"})),
    );
    assert_eq!(
        (late.status, late.code().as_str(), late.reason().as_str()),
        (410, "E0003", "request_expired")
    );
    let check = |run: &str| {
        let enrolled = status(&enrolment);
        assert_eq!(enrolled["state"], "refused", "{run}");
        let reason = enrolled["refused"].as_str().expect("a reason");
        assert!(
            reason.starts_with("expired: ")
                && reason.contains("2026-04-04 09:00:00 (JST)")
                && reason.contains("new one-time enrolment code"),
            "{run}: {reason}"
        );
        let renewed = status(&renewal);
        assert_eq!(renewed["state"], "refused", "{run}");
        let reason = renewed["refused"].as_str().expect("a reason");
        assert!(reason.contains("run `kx renew` again"), "{run}: {reason}");
    };
    check("before the job");
    let report = kxd.admin(&["retention", "run"]);
    assert!(
        report.contains("2 certificate requests expired"),
        "{report}"
    );
    assert_eq!(
        kxd.sql("SELECT COUNT(*) FROM ex_certificate_requests WHERE state = 'expired'")
            .trim(),
        "2"
    );
    check("after the job");
    let report = kxd.admin(&["retention", "run"]);
    assert!(
        report.contains("0 certificate requests expired"),
        "{report}"
    );
}

#[test]
fn passwords_change_by_the_policy_and_the_app_version_is_published() {
    let world = World::new(|_| {});
    let kxd = &world.kxd;
    let office = world.office_client();
    let change = |current: &str, new: &str, confirm: &str| {
        office.call(
            "POST",
            "/api/v1/password",
            Some(&json!({"current": current, "new": new, "confirm": confirm})),
        )
    };
    let current = world.office_password.as_str();
    for (new, confirm, code) in [
        ("Fresh-Passw0rd", "Fresh-Passw0rd!", "E1003"),
        (current, current, "E1004"),
        ("Fresh Passw0rd", "Fresh Passw0rd", "E1010"),
        ("Sh0rt", "Sh0rt", "E1012"),
        ("freshpassword", "freshpassword", "E1011"),
    ] {
        let refused = change(current, new, confirm);
        assert_eq!(
            (refused.status, refused.code().as_str()),
            (400, code),
            "{new}"
        );
    }
    let wrong = change("Not-The-Current1", NEW_PASSWORD, NEW_PASSWORD);
    assert_eq!(
        (
            wrong.status,
            wrong.code().as_str(),
            wrong.json()["message"].as_str()
        ),
        (400, "E1002", Some("現在のパスワードが一致しません。"))
    );
    change(current, NEW_PASSWORD, NEW_PASSWORD).expect(204);
    let old = kxd
        .api_client(Some(&world.office))
        .try_login(OFFICE_USER, current);
    assert_eq!((old.status, old.code().as_str()), (401, "E0002"));
    let session = kxd
        .api_client(Some(&world.office))
        .try_login(OFFICE_USER, NEW_PASSWORD)
        .expect(200)
        .json();
    assert_eq!(session["must_change_password"], false);
    assert_eq!(session["party"]["number"], OFFICE);
    assert_eq!(session["society"]["name"], SOCIETY_NAME);

    kxd.admin(&[
        "app-version",
        "set",
        "--version",
        "9.9.9",
        "--notes",
        "新しい版",
        "--url",
        "https://kx.example/download",
    ]);
    let published = kxd
        .bootstrap()
        .get("/api/v1/app-version")
        .expect(200)
        .json();
    assert_eq!(published["version"], "9.9.9");
    let on_api = office.get("/api/v1/app-version").expect(200).json();
    assert_eq!(on_api, published);

    // Malformed requests get problems too, and unknown routes a JSON 404.
    let bad = office.call("PUT", "/api/v1/profile", Some(&json!({"name": 1})));
    assert_eq!((bad.status, bad.code().as_str()), (400, "E9998"));
    let nowhere = office.get("/api/v1/nowhere");
    assert_eq!(
        (nowhere.status, nowhere.reason().as_str()),
        (404, "no_such_route")
    );
}

#[test]
fn a_temporary_password_must_be_changed_before_anything_else_on_the_same_session() {
    let world = World::new(|_| {});
    let kxd = &world.kxd;
    let before = world.office_client();
    before.get("/api/v1/inbox").expect(200);
    let temporary = word_after(
        &kxd.admin(&["user", "reset-password", "--id", OFFICE_USER]),
        "password",
    );
    let is_refused = |reply: Reply, route: &str| {
        assert_eq!(
            (
                reply.status,
                reply.code().as_str(),
                reply.reason().as_str(),
                reply.json()["message"].as_str()
            ),
            (
                403,
                "E0002",
                "password_change_required",
                Some("パスワードが無効です。")
            ),
            "{route}"
        );
    };
    // A reset restricts a session opened before it at once.
    is_refused(before.get("/api/v1/inbox"), "inbox, earlier session");

    let login = kxd
        .api_client(Some(&world.office))
        .try_login(OFFICE_USER, &temporary)
        .expect(200)
        .json();
    assert_eq!(login["must_change_password"], true);
    let token = login["token"].as_str().expect("a token");
    let office = kxd.api_client(Some(&world.office)).with_token(token);
    is_refused(office.get("/api/v1/inbox"), "inbox");
    is_refused(office.get("/api/v1/sent"), "sent");
    is_refused(office.get("/api/v1/history"), "history");
    is_refused(office.get("/api/v1/destinations"), "destinations");
    is_refused(office.get("/api/v1/files/00000000"), "download");
    is_refused(
        office.call(
            "PUT",
            "/api/v1/profile",
            Some(&json!({"name": "山田　太郎", "code": "", "mail": "taro@example.jp"})),
        ),
        "profile",
    );
    is_refused(
        office.upload(
            "給付課",
            "attachments",
            "Send-1.zip",
            &world.sealed_for_society("a.pdf", b"%PDF"),
        ),
        "upload",
    );
    // What the app reads at every start, before it can offer the change, is open.
    office.get("/api/v1/certificates").expect(200);
    office.get("/api/v1/app-version").expect(200);
    // So is logout (here of a second session).
    kxd.api_client(Some(&world.office))
        .login(OFFICE_USER, &temporary)
        .call("DELETE", "/api/v1/session", None)
        .expect(204);
    // The policy still applies to the change, and refusing it changes nothing.
    let weak = office.change_password(&temporary, "freshpassword");
    assert_eq!((weak.status, weak.code().as_str()), (400, "E1011"));
    is_refused(office.get("/api/v1/inbox"), "inbox after a refused change");

    office.change_password(&temporary, NEW_PASSWORD).expect(204);
    office.get("/api/v1/inbox").expect(200);
    office.get("/api/v1/destinations").expect(200);
    let refusals = kxd.sql(
        "SELECT count(*) FROM audit_log WHERE actor = 'office1' AND action = 'api GET /api/v1/inbox' \
         AND outcome = '403'",
    );
    assert_eq!(refusals.trim(), "3", "the refusals are audited");
}

#[test]
fn enrolment_codes_expire_and_a_fresh_one_replaces_them() {
    let kxd = Kxd::start(|_| {});
    let pki = tempfile::tempdir().expect("a directory");
    let (_, csr) = key_and_csr(pki.path(), "office");
    let csr_pem = std::fs::read_to_string(pki.path().join(csr)).expect("csr");
    let enrol = |code: &str| {
        kxd.bootstrap().call(
            "POST",
            "/api/v1/enrolments",
            Some(&json!({"id": OFFICE_USER, "code": code, "csr_pem": csr_pem})),
        )
    };
    let first = kxd.code(OFFICE_USER);
    kxd.set_clock("2026-04-15T00:00:01Z");
    let late = enrol(&first);
    assert_eq!(
        (late.status, late.code().as_str(), late.reason().as_str()),
        (401, "E0002", "enrolment_code")
    );
    let out = kxd.admin(&["user", "enrolment-code", "--id", OFFICE_USER]);
    assert!(
        out.contains("kx setup --server https://127.0.0.1:"),
        "{out}"
    );
    let fresh = word_after(&out, "code");
    assert_ne!(fresh, first);
    let bad_csr = kxd.bootstrap().call(
        "POST",
        "/api/v1/enrolments",
        Some(&json!({"id": OFFICE_USER, "code": fresh, "csr_pem": "not a request"})),
    );
    assert_eq!(
        (bad_csr.status, bad_csr.reason().as_str()),
        (400, "bad_csr")
    );
    enrol(&fresh.to_lowercase()).expect(202);
    assert_eq!(enrol(&fresh).status, 401, "used up");
    // A society user's code is a setup code and cannot enrol an office app.
    let society_code = kxd.code(SOCIETY_USER);
    let wrong_kind = kxd.bootstrap().call(
        "POST",
        "/api/v1/enrolments",
        Some(&json!({"id": SOCIETY_USER, "code": society_code, "csr_pem": csr_pem})),
    );
    assert_eq!(wrong_kind.status, 401);

    // Garbage on either listener ends that connection only.
    let garbage = "import socket, sys\n\
         for port in sys.argv[1:]:\n\
         \x20   for data in (b'\\x16\\x03\\x01\\x00\\x05hello', b'GET / HTTP/1.1\\r\\n\\r\\n', bytes(range(256)) * 64):\n\
         \x20       s = socket.create_connection(('127.0.0.1', int(port)), timeout=5)\n\
         \x20       s.sendall(data)\n\
         \x20       try: s.recv(100)\n\
         \x20       except OSError: pass\n\
         \x20       s.close()\n";
    kx_testkit::Python::new(garbage)
        .arg(kxd.api.to_string())
        .arg(kxd.https.to_string())
        .run();
    kxd.bootstrap().get("/api/v1/app-version").expect(200);

    // A reset password is temporary again.
    let out = kxd.admin(&["user", "reset-password", "--id", OFFICE_USER]);
    assert!(out.contains("temporary password"), "{out}");
    let listed: serde_json::Value =
        serde_json::from_str(&kxd.admin(&["user", "list", "--society", SOCIETY, "--json"]))
            .expect("JSON");
    let office1 = listed
        .as_array()
        .and_then(|users| users.iter().find(|user| user["id"] == "office1"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(
        (&office1["party"], &office1["number"], &office1["password"]),
        (&json!("office"), &json!("0001"), &json!("temporary")),
        "{listed}"
    );
}

#[test]
fn another_kxd_process_trusts_a_society_set_up_through_the_first() {
    let kxd = Kxd::start(|_| {});
    let (second, second_api) = kxd.second_server();
    let world = World::with(kxd);
    // The second process learns of the new society CA from the store within seconds.
    let started = Instant::now();
    let reply = loop {
        let reply = world
            .kxd
            .api_client_on(second_api, Some(&world.office))
            .try_login(OFFICE_USER, &world.office_password);
        if reply.status == 200 || started.elapsed() > Duration::from_secs(10) {
            break reply;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    drop(second);
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[test]
fn another_society_sees_nothing_of_the_first_not_even_what_exists() {
    let mut world = World::new(|_| {});
    let dir = world.dir().to_owned();

    // Society 1 has a file from its office and an enrolment request waiting.
    let sealed = world.sealed_for_society("KPFD.CSV", b"1,2,3\n");
    let name = "Send-JG-06139999-0001-00001-202604010900000.zip";
    let file = world
        .office_client()
        .upload("給付課", "e-application", name, &sealed)
        .expect(201)
        .json()["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let out = world
        .kxd
        .admin(&["user", "enrolment-code", "--id", OFFICE_USER]);
    let code = word_after(&out, "code");
    let (_, csr) = key_and_csr(&dir, "reinstalled");
    let request = world
        .kxd
        .bootstrap()
        .call(
            "POST",
            "/api/v1/enrolments",
            Some(&json!({
                "id": OFFICE_USER,
                "code": code,
                "csr_pem": std::fs::read_to_string(dir.join(csr)).expect("csr"),
            })),
        )
        .expect(202)
        .json()["request"]
        .as_str()
        .expect("a request id")
        .to_owned();

    // Society 2, with its own CA, on the same server.
    let out = world.kxd.admin(&[
        "society",
        "add",
        "--number",
        "06138888",
        "--name",
        "別の健康保険組合",
        "--user",
        "kenpo2",
    ]);
    world.kxd.remember("kenpo2", &out);
    let kxd = &world.kxd;
    let ca2 = Ca::new(&dir, "society2-ca");
    let society2 = party_identity(&dir, &ca2, "society2");
    kxd.bootstrap()
        .call(
            "POST",
            "/api/v1/society-setup",
            Some(&json!({
                "id": "kenpo2",
                "code": kxd.code("kenpo2"),
                "ca_pem": std::fs::read_to_string(&ca2.identity.cert).expect("CA"),
                "certificate_pem": std::fs::read_to_string(&society2.cert).expect("certificate"),
            })),
        )
        .expect(200);
    let other = kxd
        .api_client(Some(&society2))
        .login("kenpo2", &kxd.password("kenpo2"));
    other.replace_temporary_password(&kxd.password("kenpo2"));

    for listing in [
        "/api/v1/society/certificate-requests",
        "/api/v1/offices",
        "/api/v1/inbox",
        "/api/v1/history",
        "/api/v1/sent",
    ] {
        assert_eq!(
            other.get(listing).expect(200).json(),
            json!([]),
            "{listing}"
        );
    }
    // Society 1's file and request answer exactly as ids that never existed.
    let absent = "0123456789abcdef0123456789abcdef";
    for id in [file.as_str(), absent] {
        let got = other.download(id, &dir.join("stolen"));
        assert_eq!((got.status, got.reason().as_str()), (404, "not_found"));
        let deleted = other.call("DELETE", &format!("/api/v1/files/{id}"), None);
        assert_eq!(
            (deleted.status, deleted.reason().as_str()),
            (404, "not_found")
        );
    }
    let decide = |client: &Client<'_>, id: &str| {
        let decided = client.call(
            "POST",
            &format!("/api/v1/society/certificate-requests/{id}"),
            Some(&json!({"refused": "not ours"})),
        );
        (decided.status, decided.reason())
    };
    for id in [request.as_str(), absent] {
        assert_eq!(decide(&other, id), (404, "no_such_request".to_owned()));
    }
    // Society 1 still has both, untouched.
    let society = world.society_client();
    let inbox = society.get("/api/v1/inbox").expect(200).json();
    assert_eq!(inbox[0]["id"], file.as_str());
    let pending = society
        .get("/api/v1/society/certificate-requests")
        .expect(200)
        .json();
    assert_eq!(pending[0]["request"], request.as_str());

    // Once the request has expired its own society learns so; the other still learns nothing.
    kxd.set_clock("2026-04-20T00:00:00Z");
    let society = world.society_client();
    assert_eq!(
        decide(&society, &request),
        (410, "request_expired".to_owned())
    );
    let other = kxd
        .api_client(Some(&society2))
        .login("kenpo2", OWN_PASSWORD);
    assert_eq!(
        decide(&other, &request),
        (404, "no_such_request".to_owned())
    );
}

/// `[store] blobs` for `bucket` under `prefix`, its keys in a private file of the directory
/// returned (kept as long as the directory is).
fn bucket_blobs(
    s3: &kx_testkit::S3Server,
    bucket: &str,
    prefix: &str,
) -> (tempfile::TempDir, String) {
    let keys = tempfile::tempdir().expect("a directory");
    let key_file = keys.path().join("s3-keys");
    std::io::Write::write_all(
        &mut kx_store::files::create_new(&key_file).expect("created"),
        b"test-key\ntest-secret\n",
    )
    .expect("written");
    let blobs = format!(
        "s3://{bucket}?endpoint={}&prefix={prefix}&credentials={}",
        s3.endpoint(),
        key_file.display()
    );
    (keys, blobs)
}

/// `[store] blobs` of `toml` set to `blobs`, the rest of `[store]` as `kxd init` wrote it (on
/// PostgreSQL in scripts/test's second pass).
fn set_blobs(toml: &mut String, blobs: &str) {
    assert!(
        toml.contains("\n[store]\n"),
        "kxd init writes [store]:\n{toml}"
    );
    *toml = toml.replace("\n[store]\n", &format!("\n[store]\nblobs = {blobs:?}\n"));
}

/// `[store]` of `toml` set to `database` and `blobs` (whatever it held).
fn store_section(toml: &mut String, database: &str, blobs: &str) {
    let kept: Vec<&str> = toml
        .lines()
        .filter(|l| !l.starts_with("database = ") && !l.starts_with("blobs = "))
        .collect();
    *toml = kept.join("\n").replace(
        "\n[store]\n",
        &format!("\n[store]\ndatabase = {database:?}\nblobs = {blobs:?}\n"),
    );
}

#[test]
fn an_installation_moves_to_postgresql_and_a_bucket_then_is_backed_up_and_restored() {
    let s3 = kx_testkit::S3Server::start();
    let bucket = s3.fresh_bucket();
    let (_keys, blobs) = bucket_blobs(&s3, &bucket, "moved");
    let database = kx_testkit::postgres::fresh_database_on_server();
    let mut world = World::new(|_| {});
    let dir = world.dir().to_owned();
    // A file each way: larger than an upload part, and a small one.
    let report = kx_testkit::noise(6 << 20, 1);
    let sealed = world.sealed_for_society("report.pdf", &report);
    let up = world
        .office_client()
        .upload("給付課", "attachments", "Send-1.zip", &sealed)
        .expect(201)
        .json()["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let letter = world.sealed_for_office("letter.pdf", b"society to office");
    let down = world
        .society_client()
        .upload(OFFICE, "attachments", "Send-KS-1.zip", &letter)
        .expect(201)
        .json()["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    world.kxd.stop();

    let migrate = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kxd"))
            .args(["store", "migrate", "--data"])
            .arg(world.kxd.data())
            .args(["--to-database", &database, "--to-blobs", &blobs])
            .output()
            .expect("kxd store migrate runs");
        let printed = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{printed}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        printed
    };
    let first = migrate();
    let row = |printed: &str, name: &str| {
        printed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{printed}"))
            .to_owned()
    };
    assert!(
        row(&first, "ex_files").contains("2 rows (2 new)"),
        "{first}"
    );
    assert!(row(&first, "sealed").contains("2 blobs (2 new"), "{first}");
    assert!(first.contains("checked:"), "{first}");
    // Run again (as after an interruption): nothing is written twice, the check holds.
    let again = migrate();
    assert!(row(&again, "ex_files").contains("(0 new)"), "{again}");
    assert!(row(&again, "sealed").contains("(0 new"), "{again}");
    assert!(row(&again, "messages").contains("(0 new"), "{again}");

    // Served from the copy alone: the local blobs are gone, the old database is not read.
    std::fs::remove_dir_all(world.kxd.data().join("blobs")).expect("the local blobs");
    std::fs::remove_file(world.kxd.data().join("kx.sqlite3")).ok();
    world
        .kxd
        .restart_with(|toml| store_section(toml, &database, &blobs));
    // `client` downloads `id`: the same bytes as `sent`.
    let same = |client: Client<'_>, id: &str, sent: &Path, why: &str| {
        let got = dir.join(format!("got-{id}.p7m"));
        client.download(id, &got).expect(200);
        assert!(
            std::fs::read(&got).expect("downloaded") == std::fs::read(sent).expect("sealed"),
            "{why}"
        );
    };
    same(
        world.society_client(),
        &up,
        &sealed,
        "the office's file, the same bytes from the bucket",
    );
    same(world.office_client(), &down, &letter, "the society's file");
    // New rows after the copy take fresh ids: the identities go on past the copied ones.
    world
        .office_client()
        .upload("給付課", "attachments", "Send-2.zip", &sealed)
        .expect(201);
    let counted = std::process::Command::new("psql")
        .args([
            &database,
            "-X",
            "-A",
            "-t",
            "-c",
            "SELECT COUNT(*), COUNT(DISTINCT seq) FROM ex_files",
        ])
        .output()
        .expect("psql runs");
    assert_eq!(String::from_utf8_lossy(&counted.stdout).trim(), "3|3");

    // docs/operations.md's backup and restore: pg_dump of the database (the bucket keeps
    // its objects), restored into an empty one, served again: the same files.
    world.kxd.stop();
    let dump = dir.join("kx.dump");
    let dumped = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&database)
        .output()
        .expect("pg_dump runs");
    assert!(dumped.status.success(), "{dumped:?}");
    let restored = kx_testkit::postgres::fresh_database_on_server();
    let loaded = std::process::Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname", &restored])
        .arg(&dump)
        .output()
        .expect("pg_restore runs");
    assert!(loaded.status.success(), "{loaded:?}");
    world
        .kxd
        .restart_with(|toml| store_section(toml, &restored, &blobs));
    same(
        world.society_client(),
        &up,
        &sealed,
        "the office's file after the restore",
    );
}
