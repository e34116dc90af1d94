/** Tailwind CSS v4 runs as a PostCSS plugin; it finds sources by itself. */
const config = {
  plugins: {
    "@tailwindcss/postcss": {},
  },
};

export default config;
