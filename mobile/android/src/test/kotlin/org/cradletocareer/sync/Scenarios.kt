// End-to-end scenarios of the generated Kotlin bindings, on the JVM, against a real
// server process. Run by `tests/tests/kotlin.rs` (part of `cargo test --workspace`),
// which starts the server, creates the users and passes their names in the
// environment: SERVER_URL, DEAD_URL (a port nobody listens on), STORE_DIR, and
// WORKER / STAFF / PARENT user names (password: "<name>-password").
package org.cradletocareer.sync

import java.time.LocalDate
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking

private fun env(name: String): String =
    System.getenv(name) ?: error("environment variable $name is not set")

private val serverUrl = env("SERVER_URL")
private val storeDir = env("STORE_DIR")

/** Progress callbacks, kept for checking. */
class Recorder : ProgressObserver {
    val seen = CopyOnWriteArrayList<SyncProgress>()
    override fun onProgress(progress: SyncProgress) {
        seen.add(progress)
    }
}

/** Cancels the sync once its first batch is acknowledged (midway through the push). */
class CancelAtFirst(private val token: CancelToken) : ProgressObserver {
    override fun onProgress(progress: SyncProgress) {
        if (progress.itemsDone > 0uL) token.cancel()
    }
}

/** An observer whose every callback throws: the sync must go on. */
class Throwing : ProgressObserver {
    var calls = 0
    override fun onProgress(progress: SyncProgress) {
        calls += 1
        throw IllegalStateException("the screen went away")
    }
}

private fun open(name: String): DeviceStore = DeviceStore.open("$storeDir/$name.sqlite")

private suspend fun signedIn(name: String, user: String): DeviceStore {
    val store = open(name)
    val session = store.signIn(serverUrl, user, "$user-password", "$name phone")
    check(session.username == user) { "signed in as ${session.username}" }
    return store
}

private suspend fun DeviceStore.syncOnce(observer: ProgressObserver = Recorder()): SyncSummary =
    sync(observer, CancelToken())

private fun ResponseView.question(path: String): QuestionState =
    questions.firstOrNull { it.path == path } ?: error("no question $path in ${questions.map { it.path }}")

private fun text(v: String) = AnswerValue.Text(v)

private val results = mutableListOf<String>()

private fun scenario(name: String, body: suspend () -> Unit) {
    runBlocking { body() }
    println("PASS $name")
    results.add(name)
}

fun main() {
    val worker = env("WORKER")
    val staff = env("STAFF")
    val parent = env("PARENT")
    lateinit var surveyId: String
    lateinit var checkinId: String

    scenario("outreach worker fills the household survey offline, meets a Spanish constraint error, finalizes and syncs with progress") {
        val store = signedIn("worker", worker)
        check(store.forms("es").map { it.id } == listOf("household_survey")) { "forms ${store.forms("es")}" }
        check(store.forms("es")[0].title == "Encuesta del hogar")
        val household = store.createHousehold("Familia Rivera", "12 Elm St")
        store.addMember(household, "Ana Rivera", "child", "2019-04-02")
        var r = store.startResponse("household_survey", household, "es")
        check(r.question("consent").required)
        check(!r.question("household").relevant) { "the household group shows before consent: ${r.question("household")} ${r.questions.map { it.path }}" }
        r = store.setAnswer(r.id, "consent", text("yes"), "es")
        r = store.setAnswer(r.id, "has_child", text("yes"), "es")
        check(r.question("household").relevant)
        r = store.setAnswer(r.id, "interview_language", text("es"), "es")
        check(store.addRepeat(r.id, "child") == 1u)
        r = store.setAnswer(r.id, "child[1]/age_years", AnswerValue.Int(25), "es")
        val error = r.question("child[1]/age_years").error
        check(error == "Escriba una edad entre 0 y 18 años.") { "error shown: $error" }
        var final = store.finalizeResponse(r.id, "es")
        check(!final.finalized && final.errorCount > 0u) { "an invalid response was finalized" }
        r = store.setAnswer(r.id, "child[1]/age_years", AnswerValue.Int(7), "es")
        check(r.question("child[1]/age_years").error == null)
        r = store.setAnswer(r.id, "child[1]/grade", text("2"), "es")
        check(r.question("child[1]/grade").choices.any { it.name == "k" && it.label == "Kínder" })
        final = store.finalizeResponse(r.id, "es")
        check(final.finalized && final.errorCount == 0u) { "not finalized: ${final.questions.mapNotNull { it.error }}" }
        surveyId = r.id
        check(store.history(r.id).any { it.message == "Finalized" })

        val progress = Recorder()
        val summary = store.syncOnce(progress)
        check(summary.pushed > 0u && summary.rejected == 0uL) { "summary $summary" }
        check(store.pendingChanges() == 0uL)
        check(store.refusedChanges("es").isEmpty()) { "refused: ${store.refusedChanges("en")}" }
        check(progress.seen.any { it.phase == SyncPhase.PUSH }) { "no push progress: ${progress.seen}" }
        val lastPush = progress.seen.last { it.phase == SyncPhase.PUSH }
        check(lastPush.itemsDone == lastPush.itemsTotal && lastPush.bytesDone > 0uL) { "push progress $lastPush" }
        store.close()
    }

    scenario("a staff device pulls the survey and reads the same answers") {
        val store = signedIn("staff", staff)
        store.syncOnce()
        check(store.responses("household_survey").any { it.id == surveyId && it.finalized })
        val r = store.response(surveyId, "en")
        check(r.question("child[1]/age_years").value == AnswerValue.Int(7L))
        check(r.question("consent").value == text("yes"))
        val household = store.households().single { it.name == "Familia Rivera" }
        check(household.members.map { it.name } == listOf("Ana Rivera"))
        store.close()
    }

    scenario("a parent's literacy check-in reaches the server") {
        val store = signedIn("parent", parent)
        check(store.forms("es").map { it.title } == listOf("Registro semanal de lectura"))
        var r = store.startResponse("literacy_checkin", null, "es")
        r = store.setAnswer(r.id, "child", text("Ana"), "es")
        r = store.setAnswer(r.id, "week_of", text(LocalDate.now().toString()), "es")
        r = store.setAnswer(r.id, "read_days", AnswerValue.Int(9), "es")
        check(r.question("read_days").error == "Escriba un número de días entre 0 y 7.")
        r = store.setAnswer(r.id, "read_days", AnswerValue.Int(5), "es")
        check(store.finalizeResponse(r.id, "es").finalized)
        checkinId = r.id
        check(store.syncOnce().pushed > 0u)
        store.close()
        val staffStore = open("staff")
        staffStore.syncOnce()
        val seen = staffStore.response(checkinId, "en")
        check(seen.finalized && seen.question("read_days").value == AnswerValue.Int(5L))
        staffStore.close()
    }

    scenario("a sync cancelled midway ends in AppException.Cancelled, and the next one delivers everything") {
        val store = open("worker")
        repeat(1_200) { store.createHousehold("Household $it", "$it Oak St") }
        val before = store.pendingChanges()
        check(before >= 1_200uL)
        val token = CancelToken()
        try {
            store.sync(CancelAtFirst(token), token)
            error("the cancelled sync returned")
        } catch (e: AppException.Cancelled) {
            check(e.message!!.contains("cancelled")) { "message ${e.message}" }
        }
        val left = store.pendingChanges()
        check(left in 1uL until before) { "pending $left of $before after the cancel" }
        store.syncOnce()
        check(store.pendingChanges() == 0uL)
        store.close()
        val staffStore = open("staff")
        staffStore.syncOnce()
        val names = staffStore.households().map { it.name }.toSet()
        check((0 until 1_200).all { "Household $it" in names }) { "the staff device misses households" }
        staffStore.close()
    }

    scenario("a sync against an unreachable server ends in AppException.Offline, and a later one delivers") {
        val store = open("worker")
        store.setServerUrl(env("DEAD_URL"))
        store.createHousehold("Familia Offline", "1 Far Rd")
        try {
            store.syncOnce()
            error("a sync to a dead port returned")
        } catch (e: AppException.Offline) {
            check(e.message!!.contains("saved on this device")) { "message ${e.message}" }
        }
        check(store.pendingChanges() > 0uL)
        store.setServerUrl(serverUrl)
        store.syncOnce()
        check(store.pendingChanges() == 0uL)
        store.close()
        val staffStore = open("staff")
        staffStore.syncOnce()
        check(staffStore.households().any { it.name == "Familia Offline" })
        staffStore.close()
    }

    scenario("a progress callback that throws does not crash the process or stop the sync") {
        val store = open("worker")
        store.createHousehold("Familia Throw", "2 Near Rd")
        val observer = Throwing()
        val summary = store.syncOnce(observer)
        check(observer.calls > 0) { "the observer was never called" }
        check(summary.pushed > 0u && store.pendingChanges() == 0uL)
        store.close()
    }

    scenario("an encrypted store keeps its session behind its key, and a wrong key is AppException.WrongKey") {
        val path = "$storeDir/encrypted.sqlite"
        val store = DeviceStore.openEncrypted(path, "a key from the Android Keystore")
        store.signIn(serverUrl, parent, "$parent-password", "encrypted phone")
        store.close()
        val plain = java.io.File(path).readBytes().toString(Charsets.ISO_8859_1)
        check(!plain.contains(parent)) { "the user name is readable in the file" }
        try {
            DeviceStore.openEncrypted(path, "a guess").close()
            error("a wrong key opened the store")
        } catch (e: AppException.WrongKey) {
        }
        try {
            DeviceStore.open(path).close()
            error("no key opened the store")
        } catch (e: AppException.WrongKey) {
        }
        val again = DeviceStore.openEncrypted(path, "a key from the Android Keystore")
        check(again.session()?.username == parent) { "the session is gone: ${again.session()}" }
        check(again.syncOnce().pushed.toLong() == 0L)
        again.close()
    }

    scenario("a new form version arrives on sync, and a consent signature attached to a case note is uploaded") {
        // The harness published case_note version 2, with an image question `signature`.
        val store = signedIn("signature", staff)
        val first = store.syncOnce()
        check(first.forms >= 1uL) { "no form version fetched: $first" }
        val caseNote = store.forms("en").first { it.id == "case_note" }
        check(caseNote.version == 2u) { "case_note is at version ${caseNote.version}" }
        val note = store.startResponse("case_note", null, "en")
        check(note.formVersion == 2u) { "a new note started on version ${note.formVersion}" }
        store.setAnswer(note.id, "participant", text("Rosa M."), "en")
        store.setAnswer(note.id, "contact_date", text(LocalDate.now().minusDays(1).toString()), "en")
        val kind = store.response(note.id, "en").question("contact_type").choices.first().name
        store.setAnswer(note.id, "contact_type", text(kind), "en")
        val signature = ByteArray(300_000) { (it % 251).toByte() }
        val view = store.attachBytes(note.id, "signature", "signature.png", signature, "en")
        val name = view.question("signature").value
        check(name is AnswerValue.Text && name.value.endsWith(".png")) { "the answer is $name" }
        check(store.pendingAttachments() == 1uL) { "pending: ${store.pendingAttachments()}" }
        val done = store.finalizeResponse(note.id, "en")
        check(done.finalized) { "not finalized: ${done.questions.filter { it.error != null }}" }
        val summary = store.syncOnce()
        check(summary.attachmentsUploaded == 1uL) { "uploaded: $summary" }
        check(store.pendingAttachments() == 0uL)
        println("SIGNATURE ${name.value}")
    }

    println("ALL ${results.size} SCENARIOS PASSED")
    exitProcess(0)
}
