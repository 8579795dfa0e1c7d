// openai_embed.js: the official OpenAI Node client asks immortal for
// embeddings, as an application would (tests/integration/87_embeddings.sh).
// usage: node openai_embed.js BASE_URL GROUP
// Prints "ok N DIM1 DIM2 ENDPOINT" (vectors, their sizes, the serving
// endpoint). The client asks for base64 by default and decodes it, so this
// also checks that base64 passes through intact.
const OpenAI = require('openai');

async function main() {
	const [baseURL, group] = process.argv.slice(2);
	const client = new OpenAI({ baseURL, apiKey: 'sk-test', maxRetries: 0 });
	const { data: res, response } = await client.embeddings
		.create({ model: group, input: ['first text', 'second text'] })
		.withResponse();
	const dims = res.data.map((d) => d.embedding.length);
	const finite = res.data.every((d) => d.embedding.every((x) => Number.isFinite(x) && x >= 0 && x < 1));
	if (!finite) throw new Error('embedding values out of the mock range: ' + JSON.stringify(res.data));
	console.log(`ok ${res.data.length} ${dims.join(' ')} ${response.headers.get('x-immortal-endpoint')}`);
}

main().catch((e) => {
	console.error(String(e && e.stack || e));
	process.exit(1);
});
