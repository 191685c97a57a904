/// The consoles' Mustache templates and stylesheet, compiled into the binary so a node needs
/// no file beside it and no internet.
///
/// Read by ``PageRenderer`` once at start. Text people read is Bahasa Indonesia.
enum PageTemplates {
    static let all: [String: String] = [
        "layout": layout,
        "signIn": signIn,
        "message": message,
        "dashboard": dashboard,
        "caseList": caseList,
        "caseDetail": caseDetail,
        "recap": recap,
        "cases": cases,
        "sync": sync,
        "queue": queue,
        "operatorCase": operatorCase,
    ]

    static let layout = """
        <!doctype html>
        <html lang="id">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} — Sambat</title>
        <link rel="stylesheet" href="/aset/sambat.css">
        </head>
        <body>
        <header class="bar">
          <a class="brand" href="/">Sambat</a>
          <span class="node">{{node}}</span>
          {{#account}}
          <nav>{{#links}}<a href="{{href}}">{{label}}</a>{{/links}}</nav>
          <form method="post" action="/keluar" class="signout">
            <input type="hidden" name="_csrf" value="{{csrf}}">
            <span class="who">{{displayName}}</span>
            <button type="submit">Keluar</button>
          </form>
          {{/account}}
        </header>
        <main>
        <h1>{{title}}</h1>
        {{{content}}}
        </main>
        <footer>Dibuat {{generatedAt}} WIB dari riwayat gabungan di node ini.</footer>
        </body>
        </html>
        """

    static let signIn = """
        <form method="post" action="/masuk" class="signin">
          <input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="ke" value="{{next}}">
          {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
          <label>Nama akun <input name="name" autocomplete="username" required value="{{name}}"></label>
          <label>Kata sandi <input name="password" type="password" autocomplete="current-password" required></label>
          <button type="submit">Masuk</button>
        </form>
        """

    static let message = """
        <p class="message">{{text}}</p>
        {{#back}}<p><a href="{{back}}">Kembali</a></p>{{/back}}
        """

    static let dashboard = """
        <section>
        <h2>Peringkat OPD menurut ketanggapan</h2>
        <p class="hint">Waktu dalam jam kerja, dari waktu central menerima setiap langkah. Yang paling lambat di atas.</p>
        <div class="scroll">
        <table class="ranking">
        <thead><tr>
          <th>#</th><th>OPD</th><th>Ditugaskan</th><th>Terbuka</th><th>Terlambat kini</th>
          <th>Diterima (median / p90)</th><th>Tindak lanjut (median / p90)</th>
          <th>Selesai tepat waktu</th><th>Dikembalikan</th>
        </tr></thead>
        <tbody>
        {{#ranking}}
        <tr{{#slow}} class="slow"{{/slow}}>
          <td>{{rank}}</td><td class="office"><strong>{{code}}</strong><br><small>{{name}}</small></td>
          <td class="n">{{assigned}}</td><td class="n">{{open}}</td>
          <td class="n">{{overdue}} <small>({{overdueShare}})</small></td>
          <td>{{acknowledge}}</td><td>{{followUp}}</td>
          <td class="n">{{onTimeShare}}</td><td class="n">{{returnShare}}</td>
        </tr>
        {{/ranking}}
        {{^ranking}}<tr><td colspan="9">Belum ada kasus yang didisposisikan.</td></tr>{{/ranking}}
        </tbody>
        </table>
        </div>
        <p>Kasus terlambat di tahap verifikasi/disposisi central: <strong>{{centralOverdue}}</strong></p>
        </section>

        <section>
        <h2>Tren pengaduan</h2>
        <p class="tabs">{{#periods}}<a href="{{href}}"{{#current}} class="current"{{/current}}>{{label}}</a> {{/periods}}</p>
        {{{chart}}}
        <p class="legend"><span class="key received"></span> masuk <span class="key closed"></span> ditutup</p>
        </section>

        <section>
        <h2>Kasus terlambat</h2>
        {{> cases}}
        <p><a href="/kasus?terlambat=1">Semua kasus terlambat</a></p>
        </section>

        <section>
        <h2>Konflik yang perlu perhatian</h2>
        <ul class="conflicts">
        {{#conflicts}}<li><a href="/kasus/{{caseID}}">{{caseID}}</a> — {{reason}}{{#office}} ({{office}}){{/office}}</li>{{/conflicts}}
        {{^conflicts}}<li>Tidak ada konflik terbuka.</li>{{/conflicts}}
        </ul>
        </section>

        {{#syncHealth}}
        <section>
        <h2>Kesehatan sinkronisasi</h2>
        <p class="{{#stale}}error{{/stale}}{{^stale}}hint{{/stale}}">{{reported}}{{#stale}}{{#hasReport}} Node wali kota tidak mendapat laporan baru dari pusat; angka di bawah mungkin sudah berubah.{{/hasReport}}{{/stale}}</p>
        {{#hasReport}}
        <div class="scroll">
        <table class="health">
        <thead><tr><th>Node</th><th>Status</th><th>Terakhir terlihat</th><th>Belum diterima node (op)</th><th>Belum diterima pusat (op)</th></tr></thead>
        <tbody>
        {{#nodes}}
        <tr{{#lagging}} class="slow"{{/lagging}}>
          <td class="office"><strong>{{node}}</strong><br><small>{{name}}</small></td>
          <td>{{status}}</td><td>{{lastSeen}}</td><td class="n">{{feedBehind}}</td><td class="n">{{uploadBehind}}</td>
        </tr>
        {{/nodes}}
        </tbody>
        </table>
        </div>
        <p class="hint">"Belum diterima pusat" dihitung dari sesi terakhir node itu dengan pusat.</p>
        {{/hasReport}}
        </section>
        {{/syncHealth}}
        """

    static let cases = """
        <div class="scroll">
        <table class="cases">
        <thead><tr><th>Tiket</th><th>Status</th><th>Tenggat (WIB)</th><th>Lewat tenggat</th><th>Perihal</th></tr></thead>
        <tbody>
        {{#cases}}
        <tr{{#overdue}} class="late"{{/overdue}}>
          <td><a href="/kasus/{{caseID}}">{{caseID}}</a></td><td>{{status}}</td><td>{{due}}</td>
          <td>{{late}}</td><td>{{subject}}{{#hasConflicts}} <small class="flag">{{openConflicts}} konflik</small>{{/hasConflicts}}</td>
        </tr>
        {{/cases}}
        {{^cases}}<tr><td colspan="5">Tidak ada kasus.</td></tr>{{/cases}}
        </tbody>
        </table>
        </div>
        """

    static let caseList = """
        {{> sync}}
        <p class="tabs"><a href="{{listHref}}"{{^overdueOnly}} class="current"{{/overdueOnly}}>Semua terbuka</a>
        <a href="{{listHref}}?terlambat=1"{{#overdueOnly}} class="current"{{/overdueOnly}}>Terlambat</a></p>
        {{> cases}}
        {{#more}}<p class="hint">Ditampilkan {{shown}} kasus pertama.</p>{{/more}}
        """

    static let caseDetail = """
        {{> sync}}
        {{#actions}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        {{#done}}<p class="done" role="status">{{done}}</p>{{/done}}
        {{/actions}}
        <dl class="facts">
          <dt>Status</dt><dd>{{status}}</dd>
          {{#channel}}<dt>Saluran</dt><dd>{{channel}}</dd>{{/channel}}
          {{#reporter}}<dt>Pelapor</dt><dd><code>{{reporter}}</code> <small>(nama samaran)</small></dd>{{/reporter}}
          {{#tier}}<dt>Kategori</dt><dd>{{tier}}</dd>{{/tier}}
          {{#location}}<dt>Lokasi</dt><dd>{{location}}</dd>{{/location}}
          {{#archived}}<dt>Diarsipkan</dt><dd>{{archived}}</dd>{{/archived}}
        </dl>
        {{#text}}<blockquote class="complaint">{{text}}</blockquote>{{/text}}

        <h2>Penugasan</h2>
        <ul>{{#assignments}}<li><strong>{{office}}</strong> {{name}} — {{status}}</li>{{/assignments}}
        {{^assignments}}<li>Belum didisposisikan.</li>{{/assignments}}</ul>

        <h2>Tenggat</h2>
        <table>
        <thead><tr><th>Tahap</th><th>Batas</th><th>Selesai</th></tr></thead>
        <tbody>{{#clocks}}<tr{{#late}} class="late"{{/late}}><td>{{stage}}</td><td>{{due}}</td><td>{{done}}</td></tr>{{/clocks}}</tbody>
        </table>

        <h2>Riwayat</h2>
        <ol class="timeline">
        {{#timeline}}<li><time>{{time}}</time> <strong>{{actor}}</strong> {{what}}{{#effect}} <em>{{effect}}</em>{{/effect}}{{#unsent}} <span class="unsent">belum terkirim</span>{{/unsent}}</li>{{/timeline}}
        </ol>

        {{#hasNotes}}
        <h2>Catatan</h2>
        <ul>{{#notes}}<li><time>{{time}}</time> {{actor}} ({{visibility}}): {{text}}</li>{{/notes}}</ul>
        {{/hasNotes}}

        {{#actions}}
        <section class="actions">
        <h2>Tindakan</h2>
        {{#canAcknowledge}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="terima"><button type="submit">Terima kasus</button></form>
        {{/canAcknowledge}}
        {{#canStart}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="mulai"><button type="submit">Mulai dikerjakan</button></form>
        {{/canStart}}
        {{#canResolve}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="selesai">
          <label>Ringkasan tindak lanjut (dibaca pelapor)
            <textarea name="ringkasan" required rows="3"></textarea></label>
          <button type="submit">Tandai selesai</button></form>
        {{/canResolve}}
        {{#canReturn}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="kembalikan">
          <label>Alasan <select name="alasan">{{#reasons}}<option value="{{code}}">{{label}}</option>{{/reasons}}</select></label>
          <label>Keterangan <textarea name="catatan" rows="2"></textarea></label>
          <button type="submit">Kembalikan ke central</button></form>
        {{/canReturn}}
        {{#canNote}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="catatan">
          <label>Catatan <textarea name="catatan" required rows="2"></textarea></label>
          <label><input type="checkbox" name="publik" value="1"> tampilkan ke pelapor</label>
          <button type="submit">Tambah catatan</button></form>
        {{/canNote}}
        {{^canNote}}<p class="hint">Kasus ini tidak sedang ditugaskan ke kantor ini.</p>{{/canNote}}
        </section>
        {{/actions}}

        {{#hasConflicts}}
        <h2>Konflik</h2>
        <ul>{{#conflicts}}<li>{{id}} — {{reason}}{{#resolved}} <em>(selesai)</em>{{/resolved}}</li>{{/conflicts}}</ul>
        {{/hasConflicts}}
        """

    static let queue = """
        <p class="hint">{{count}} kasus menunggu verifikasi, disposisi atau jawaban pelapor; tenggat terdekat di atas.</p>
        <div class="scroll">
        <table class="cases queue">
        <thead><tr><th>Tiket</th><th>Langkah</th><th>Tenggat (WIB)</th><th>Pengaduan</th><th>Saran OPD</th></tr></thead>
        <tbody>
        {{#queue}}
        <tr{{#isOverdue}} class="late"{{/isOverdue}}>
          <td><a href="/kasus/{{caseID}}">{{caseID}}</a><br><small>{{statusLabel}}</small></td>
          <td>{{step}}</td><td>{{due}}{{#isOverdue}} <strong>TERLAMBAT</strong>{{/isOverdue}}</td>
          <td>{{text}}{{#flags}}<br><small class="flag">Tanda (periksa, jangan langsung arsipkan): {{flags}}</small>{{/flags}}</td>
          <td>{{#suggestions}}<div>{{.}}</div>{{/suggestions}}{{^suggestions}}<small>tidak ada saran</small>{{/suggestions}}</td>
        </tr>
        {{/queue}}
        {{^queue}}<tr><td colspan="5">Antrean kosong.</td></tr>{{/queue}}
        </tbody>
        </table>
        </div>
        """

    static let operatorCase = """
        {{#operator}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        {{#done}}<p class="done" role="status">{{done}}</p>{{/done}}
        {{/operator}}
        {{> caseDetail}}

        <h2>Identitas pelapor</h2>
        {{#identity}}
        <dl class="facts identity">
        {{#missing}}<dt>Identitas</dt><dd>Belum diberikan pelapor.</dd>{{/missing}}
        {{#name}}<dt>Nama</dt><dd>{{name}}</dd><dt>NIK</dt><dd>{{nik}}</dd><dt>Telepon</dt><dd>{{phone}}</dd>{{/name}}
        </dl>
        <p class="hint">Dicatat dalam audit. Jangan disalin atau diteruskan ke OPD.</p>
        {{/identity}}
        {{^identity}}
        {{#operator}}
        <form method="post" action="/kasus/{{caseID}}/identitas" class="action">
          <input type="hidden" name="_csrf" value="{{csrf}}">
          <label>Alasan membuka identitas (dicatat dalam audit)
            <input name="alasan" required></label>
          <button type="submit">Tampilkan identitas</button>
        </form>
        {{/operator}}
        {{/identity}}
        {{#hasAudit}}
        <ul class="audit">{{#audit}}<li><time>{{time}}</time> {{actor}}: {{reason}}</li>{{/audit}}</ul>
        {{/hasAudit}}

        <h2>Pesan ke pelapor</h2>
        <ul>{{#replies}}<li><time>{{time}}</time> {{channel}} — {{state}}: {{text}}</li>{{/replies}}
        {{^replies}}<li>Belum ada pesan.</li>{{/replies}}</ul>

        {{#operator}}
        <section class="actions">
        <h2>Tindakan</h2>
        {{#canVerify}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="verifikasi">
          <label>Kategori <select name="kategori">{{#tiers}}<option value="{{code}}">{{label}}</option>{{/tiers}}</select></label>
          <label>Topik <input name="topik"></label>
          <button type="submit">Verifikasi</button></form>
        {{/canVerify}}
        {{#canPend}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="tunda">
          <label>Yang diminta dari pelapor <input name="permintaan" required></label>
          <button type="submit">Tunda</button></form>
        {{/canPend}}
        {{#canDispatch}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="disposisi">
          <fieldset><legend>Disposisi ke OPD</legend>
          {{#offices}}<label><input type="checkbox" name="opd_{{code}}" value="1"> {{code}} — {{name}}</label>{{/offices}}
          </fieldset>
          <label>Instruksi <textarea name="instruksi" rows="2"></textarea></label>
          <button type="submit">Disposisikan</button></form>
        {{/canDispatch}}
        {{#canReassign}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="alihkan">
          <label>Dari <select name="dari">{{#activeOffices}}<option value="{{code}}">{{code}}</option>{{/activeOffices}}</select></label>
          <label>Ke <select name="ke">{{#offices}}<option value="{{code}}">{{code}} — {{name}}</option>{{/offices}}</select></label>
          <label>Catatan <input name="catatan"></label>
          <button type="submit">Alihkan</button></form>
        {{/canReassign}}
        {{#canClose}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="tutup">
          <label>Alasan <select name="alasan">{{#closeReasons}}<option value="{{code}}">{{label}}</option>{{/closeReasons}}</select></label>
          <button type="submit">Tutup kasus</button></form>
        {{/canClose}}
        {{#canReopen}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="buka">
          <label>Alasan dibuka kembali <input name="alasan" required></label>
          <button type="submit">Buka kembali</button></form>
        {{/canReopen}}
        {{#canArchive}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="arsip">
          <label>Alasan <select name="alasan">{{#archiveReasons}}<option value="{{code}}">{{label}}</option>{{/archiveReasons}}</select></label>
          <label>Keterangan <input name="catatan"></label>
          <button type="submit">Arsipkan</button></form>
        {{/canArchive}}
        <form method="post" class="action"><input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="aksi" value="catatan">
          <label>Catatan <textarea name="catatan" required rows="2"></textarea></label>
          <label><input type="checkbox" name="publik" value="1"> tampilkan ke pelapor</label>
          <button type="submit">Tambah catatan</button></form>
        </section>
        {{/operator}}
        """

    static let sync = """
        {{#sync}}
        <p class="sync{{#down}} down{{/down}}" role="status">{{text}}</p>
        {{/sync}}
        """

    static let recap = """
        <form method="get" action="/rekap" class="noprint">
          <label>Tanggal <input type="date" name="tanggal" value="{{date}}"></label>
          <button type="submit">Tampilkan</button>
          <a href="/rekap.csv?tanggal={{date}}">Unduh CSV</a>
        </form>
        <table class="summary">
        <tbody>{{#sections}}<tr><th>{{heading}}</th><td class="n">{{count}}</td></tr>{{/sections}}</tbody>
        </table>
        {{#sections}}
        <section class="recap">
        <h2>{{heading}} ({{count}})</h2>
        <ul>{{#items}}<li>{{.}}</li>{{/items}}{{^items}}<li>—</li>{{/items}}</ul>
        </section>
        {{/sections}}
        """

    static let css = """
        :root { --ink: #1d2430; --muted: #5b6472; --line: #d8dde5; --late: #b3261e; --accent: #0b5cad; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--ink); }
        .bar { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .6rem 1rem;
               background: #0f2d52; color: #fff; }
        .bar a { color: #fff; text-decoration: none; }
        .brand { font-weight: 700; font-size: 1.15rem; }
        .node { opacity: .8; }
        nav { display: flex; gap: .9rem; flex: 1; }
        .signout { display: flex; gap: .5rem; align-items: center; margin: 0; }
        main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
        h1 { font-size: 1.4rem; margin: .3rem 0 1rem; }
        h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
        table { border-collapse: collapse; width: 100%; }
        th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
        th { background: #f3f5f8; font-weight: 600; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        td.office, table.cases td:first-child { white-space: nowrap; }
        tr.slow td:first-child, tr.late td:first-child { border-left: 4px solid var(--late); }
        tr.late td { color: var(--late); }
        .scroll { overflow-x: auto; }
        .hint, small, footer { color: var(--muted); }
        .flag { color: var(--late); }
        .error { color: var(--late); font-weight: 600; }
        .done { color: #2e6b31; font-weight: 600; }
        .unsent { color: #8a5a00; font-size: .85em; border: 1px solid #e0b85c; padding: 0 .3em; border-radius: 3px; }
        .sync { padding: .5rem .8rem; background: #eef5ee; border-left: 4px solid #58a55c; }
        .sync.down { background: #fff6e0; border-left-color: #e0a100; }
        section.actions form.action { display: grid; gap: .4rem; max-width: 36rem; margin: .8rem 0;
                                      padding: .6rem .8rem; border: 1px solid var(--line); }
        section.actions textarea, section.actions select { width: 100%; font: inherit; }
        .tabs a { margin-right: .8rem; }
        .tabs a.current { font-weight: 700; text-decoration: none; color: var(--ink); }
        .signin { display: grid; gap: .8rem; max-width: 22rem; }
        .signin input { width: 100%; padding: .45rem; font: inherit; }
        button { font: inherit; padding: .35rem .9rem; }
        blockquote.complaint { margin: 1rem 0; padding: .6rem 1rem; border-left: 4px solid var(--line);
                               background: #f8f9fb; white-space: pre-wrap; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; }
        ol.timeline time, ul time { color: var(--muted); font-variant-numeric: tabular-nums; }
        svg.chart { width: 100%; height: auto; max-height: 260px; }
        svg.chart .received, .key.received { fill: #0b5cad; background: #0b5cad; }
        svg.chart .closed, .key.closed { fill: #58a55c; background: #58a55c; }
        svg.chart text { font-size: 10px; fill: var(--muted); }
        svg.chart .axis { stroke: var(--line); }
        .key { display: inline-block; width: .8rem; height: .8rem; margin: 0 .2rem 0 .8rem; vertical-align: middle; }
        footer { padding: 1rem; text-align: center; font-size: .85rem; }
        @media print {
          .bar, .noprint, footer nav { display: none; }
          main { max-width: none; padding: 0; }
          body { font-size: 11pt; }
          a { color: inherit; text-decoration: none; }
          section.recap { break-inside: avoid; }
        }
        """
}
