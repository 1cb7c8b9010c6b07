// The game in the page: start with a pseudo and a level, answer each question (the server times the answers),
// then record the score and show the leaderboard. No inline script (the proxy's CSP: script-src 'self'); text
// is set with textContent, never parsed as HTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let game = null;

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const first = Object.values(data)[0];
      throw new Error(Array.isArray(first) ? first[0] : (first || `HTTP ${response.status}`));
    }
    return data;
  }

  function show(error) {
    $("error").textContent = error ? error.message : "";
    $("error").hidden = !error;
  }

  function ask(question) {
    $("progress").textContent = `Question ${question.number} / ${question.of}`;
    $("text").textContent = question.text;
    const list = $("choices");
    list.replaceChildren();
    question.choices.forEach((choice, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = choice;
      button.dataset.choice = String(index);
      button.addEventListener("click", () => answer(index));
      const item = document.createElement("li");
      item.appendChild(button);
      list.appendChild(item);
    });
  }

  async function answer(choice) {
    try {
      const result = await post(`/api/games/${game.game}/answers`, { token: game.token, choice: choice });
      if (result.next) {
        ask(result.next);
        return;
      }
      const score = await post("/api/scores", {
        game: game.game, token: game.token, points: result.points, temps_total: result.temps_total,
      });
      $("question").hidden = true;
      $("summary").textContent =
        `${score.pseudo} : ${score.points} points en ${(score.temps_total / 1000).toFixed(1)} s, rang ${score.rank}.`;
      $("result").hidden = false;
      show(null);
    } catch (error) {
      show(error);
    }
  }

  $("start").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      game = await post("/api/games", { pseudo: $("pseudo").value, level: $("level").value });
      $("start").hidden = true;
      $("question").hidden = false;
      show(null);
      ask(game.question);
    } catch (error) {
      show(error);
    }
  });
})();
