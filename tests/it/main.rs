//! rctr's integration tests: one test binary that runs the real `rctr` as the invoking user.
//! The test bed (tests/run, tests/fixtures/) provides registries and fixture images.

mod archive;
mod attach;
mod commit;
mod cp;
mod detach;
mod diff;
mod doctor;
mod exec;
mod exec_tty;
mod export;
mod faults;
mod harness;
mod hostile;
mod images;
mod isolation;
mod keepid;
mod lifecycle;
mod login;
mod logs;
mod netmodes;
mod netuser;
mod network;
mod pull;
mod restart;
mod run;
mod runtime;
mod seccomp;
mod size;
mod storage;
mod system;
mod systemd;
mod testbed;
mod top;
mod volume;
