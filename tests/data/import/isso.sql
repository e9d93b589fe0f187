-- Written for livethread's tests from Isso's schema (isso/db/threads.py, comments.py); the test
-- builds isso.db from it.
CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
CREATE TABLE comments (
    tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,
    created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,
    text VARCHAR, author VARCHAR, email VARCHAR, website VARCHAR,
    likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL,
    notification INTEGER DEFAULT 0);
CREATE TABLE preferences (key VARCHAR PRIMARY KEY, value VARCHAR);
INSERT INTO threads VALUES (1, '/2020/01/winter-tides/', 'Winter tides');
INSERT INTO comments VALUES (1, 1, NULL, 1578000000.25, NULL, 1, '198.51.100.0', 'First *tide* report.', 'Jörg', 'joerg@mail.example', 'https://joerg.example', 0, 0, x'', 1);
INSERT INTO comments VALUES (1, 2, 1, 1578000100.0, 1578000200.0, 4, '198.51.100.0', '', NULL, NULL, NULL, 0, 0, x'', 0);
INSERT INTO comments VALUES (1, 3, 2, 1578000300.0, NULL, 1, '198.51.100.0', 'Answering the deleted one.', 'Ana', NULL, NULL, 0, 0, x'', 0);
INSERT INTO comments VALUES (1, 4, 1, 1578000400.0, NULL, 2, '198.51.100.0', 'Held for review.', 'Ana', 'ana@mail.example', NULL, 0, 0, x'', 0);
