//! DAT-6 from the command line: `kura bulk update|delete`, the same operation as the API's.

use super::{Cli, demo_credentials, stdout};

#[tokio::test]
async fn dat_6_bulk_commands_say_the_count_first_then_change_exactly_that_selection() {
    let cli = Cli::new().await;
    demo_credentials(&cli).await;
    let select = ["--tenant", "demo", "--collection", "customers", "--filter", "plan = 'free'"];

    // Without the count: how many, and nothing changed.
    let out = cli.run(&[&["bulk", "delete"][..], &select].concat());
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let said = stdout(&out);
    let total: u64 = said
        .split("The selection holds ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(total > 0 && total < 300, "{said}");
    assert!(said.contains(&format!("--expected-count {total}")), "{said}");

    // A count that is not the selection's: refused, nothing deleted.
    let wrong = (total + 1).to_string();
    let out = cli.run(&[&["bulk", "delete"][..], &select, &["--expected-count", &wrong]].concat());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing was changed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Change the selection's plan, then delete what is left on the free plan: nothing.
    let count = total.to_string();
    let set = ["--set", "plan=standard", "--expected-count", &count];
    let out = cli.run(&[&["bulk", "update"][..], &select, &set].concat());
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains(&format!("Changed {total} of {total} records")), "{}", stdout(&out));
    let out = cli.run(&[&["bulk", "delete"][..], &select].concat());
    assert!(stdout(&out).contains("The selection holds 0 records"), "{}", stdout(&out));

    // Delete the ones just changed, by their new plan.
    let standard = ["--tenant", "demo", "--collection", "customers", "--filter", "plan = 'standard'"];
    let out = cli.run(&[&["bulk", "delete"][..], &standard].concat());
    let said = stdout(&out);
    let holds: u64 =
        said.split("The selection holds ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
    assert!(holds >= total, "{said}");
    let out = cli.run(&[&["bulk", "delete"][..], &standard, &["--expected-count", &holds.to_string()]].concat());
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let out = cli.run(&["bulk", "delete", "--tenant", "demo", "--collection", "customers"]);
    assert!(stdout(&out).contains(&format!("The selection holds {} records", 300 - holds)), "{}", stdout(&out));

    let out = cli.run(&["bulk", "update", "--tenant", "demo", "--collection", "customers", "--set", "plan"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected FIELD=VALUE"));
    let out = cli.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
}
